package testcluster

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/telemetry"
)

// TestCollectionCost (PINCLUSTER_COLLECTION_PEERS=n, and PINCLUSTER_COLLECTION_LOW_WATER=l for
// connection_manager low_water l, high_water 2l): an idle cluster of n peers with the default
// intervals but state_sync_interval 15s (collection rounds 20 times as often, to see their
// cost in a short window), watched for 2 minutes after a minute of warm-up: pulls (anti-entropy
// and collection) per peer per minute, bytes and CPU per peer, connections. It reads only what
// older builds have too, so the same file measures a baseline (docs/scale.md).
func TestCollectionCost(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("PINCLUSTER_COLLECTION_PEERS"))
	if err != nil || testing.Short() {
		t.Skip("PINCLUSTER_COLLECTION_PEERS=n")
	}
	lw, _ := strconv.Atoi(os.Getenv("PINCLUSTER_COLLECTION_LOW_WATER"))
	c := New(t, n, WithBandwidth(), WithFormation(5*time.Minute), WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Cluster.MonitorPingInterval = config.Duration(scalePing)
		cfg.Informer.MetricTTL = 2 * scalePing
		cfg.Monitor.CheckInterval = time.Second
		cfg.Cluster.StateSyncInterval = config.Duration(15 * time.Second)
		cfg.Consensus.CRDT.RebroadcastInterval = config.DefaultCRDT().RebroadcastInterval
		if lw > 0 {
			cfg.Cluster.ConnectionManager.LowWater = lw
			cfg.Cluster.ConnectionManager.HighWater = 2 * lw
		}
	}))
	running := c.Running()
	<-time.After(time.Minute)
	pulls := func() float64 {
		return testutil.ToFloat64(telemetry.Pulls.WithLabelValues("ok")) + testutil.ToFloat64(telemetry.Pulls.WithLabelValues("error"))
	}
	p0, b0, cpu0, t0 := pulls(), totalBytes(c, running), cpuTime(), time.Now()
	<-time.After(2 * time.Minute)
	wall := time.Since(t0)
	mean, most := connections(c, running)
	fn := float64(n)
	fmt.Printf("collection cost: %d peers, low_water %d: pulls %.1f per peer per minute, %.0f B/s per peer, CPU %.2f%% per peer, connections %.1f (max %d)\n",
		n, lw, (pulls()-p0)/fn/wall.Minutes(), float64(totalBytes(c, running)-b0)/fn/wall.Seconds(),
		100*(cpuTime()-cpu0).Seconds()/fn/wall.Seconds(), mean, most)
}
