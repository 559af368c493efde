package peer

import (
	"testing"

	"github.com/pincluster/pincluster/config"
)

// TestResourceLimitsLeaveRoomForHighWater: libp2p's autoscaled limits allow 128 connections
// plus 128 per GB of memory/8, inbound half that: on a small host the connection manager would
// never reach high_water. The host's limits are raised to a quarter above it.
func TestResourceLimitsLeaveRoomForHighWater(t *testing.T) {
	for _, hw := range []int{400, 4000} {
		sys := resourceLimits(config.ConnMgr{LowWater: 100, HighWater: hw}).ToPartialLimitConfig().System
		want := hw + hw/4
		for name, v := range map[string]int{"conns": int(sys.Conns), "inbound": int(sys.ConnsInbound), "outbound": int(sys.ConnsOutbound)} {
			if v >= 0 && v < want {
				t.Errorf("high_water %d: system %s limit %d, want at least %d", hw, name, v, want)
			}
		}
	}
}
