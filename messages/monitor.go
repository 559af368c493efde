package messages

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// Conversation: the monitor (actors/monitor). Informers and the pubsub reader hand metrics to
// the monitor actor; the REST API and the allocator ask it for the latest valid metrics; a
// ticker drives expiry checks, which raise alerts.

// MetricReceived: a metric arrived (from pubsub or a local informer). ReceivedAt is set.
// No reply.
type MetricReceived struct {
	Metric api.Metric
}

// CheckMetrics: look for metrics that expired since the last check and raise one alert for
// each. Sent by the monitor's ticker. No reply.
type CheckMetrics struct{}

// ForgetPeer: drop every metric of the peer without raising alerts (peers rm). No reply.
type ForgetPeer struct {
	Peer peer.ID
}

// LatestMetricsRequest asks for the latest valid metric named Name of every peer.
// Reply: LatestMetricsResponse.
type LatestMetricsRequest struct {
	Name string
}

// LatestMetricsResponse lists the metrics sorted by peer ID.
type LatestMetricsResponse struct {
	Metrics []api.Metric
}

// AllMetricsRequest asks for every valid metric. Reply: AllMetricsResponse.
type AllMetricsRequest struct{}

// AllMetricsResponse holds the valid metrics by peer and name. The maps are fresh copies.
type AllMetricsResponse struct {
	Metrics map[peer.ID]map[string]api.Metric
}

// MetricNamesRequest asks for the names of the metrics the monitor knows. Reply:
// MetricNamesResponse.
type MetricNamesRequest struct{}

// MetricNamesResponse lists metric names, sorted.
type MetricNamesResponse struct {
	Names []string
}

// LivePeersRequest asks for the peers whose "ping" metric is valid. Reply: LivePeersResponse.
type LivePeersRequest struct{}

// LivePeersResponse lists live peers sorted by ID.
type LivePeersResponse struct {
	Peers []peer.ID
}

// AlertsRequest asks for the recent alerts. Reply: AlertsResponse.
type AlertsRequest struct{}

// AlertsResponse lists alerts, oldest first.
type AlertsResponse struct {
	Alerts []api.Alert
}

// Conversation: the allocator (actors/allocator). The peer passes the candidate metrics it got
// from the monitor; the allocator answers with the peers that should hold the CID.

// AllocateRequest asks for the allocations of one pin. Reply: AllocateResponse.
type AllocateRequest struct {
	Cid api.Cid
	// Min and Max are the replication factors (-1: every candidate).
	Min, Max int
	// Current are the allocations the pin already has (nil for a new pin).
	Current []peer.ID
	// User are user-set allocations, preferred while they are candidates.
	User []peer.ID
	// Candidates are the valid metrics by peer (monitor LatestAll).
	Candidates map[peer.ID]map[string]api.Metric
	// Local is a peer to always include when it is a candidate (add --local), or "".
	Local peer.ID
}

// AllocateResponse carries the allocations or an error (wrapping api.ErrUnavailable when fewer
// than Min peers can be allocated, api.ErrInvalid for bad factors).
type AllocateResponse struct {
	Peers []peer.ID
	Err   error
}
