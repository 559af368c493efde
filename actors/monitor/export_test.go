package monitor

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// Test-only API: exported here so that only this package's tests see it.

// LatestAll returns the valid metrics by peer and name (the allocator's candidates). The maps
// are the caller's.
func (m *Monitor) LatestAll(ctx context.Context) (map[peer.ID]map[string]api.Metric, error) {
	r, err := ask[messages.AllMetricsResponse](ctx, m, messages.AllMetricsRequest{})
	return r.Metrics, err
}
