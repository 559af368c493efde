package allocator

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// Test-only API: exported here so that only this package's tests see it.

// UnderReplicated reports whether fewer than min of the current allocations are candidates,
// i.e. whether automatic repinning should reallocate the pin. Pins with min == -1 are never
// under-replicated.
func UnderReplicated(cfg Config, min int, current []peer.ID, candidates map[peer.ID]map[string]api.Metric) bool {
	if min <= 0 {
		return false
	}
	by := cfg.AllocateBy
	if len(by) == 0 {
		by = Default().AllocateBy
	}
	pl := &pool{src: candidates, nums: numeric(by)}
	n := 0
	for _, p := range dedupe(current) {
		if pl.has(p) {
			n++
		}
	}
	return n < min
}
