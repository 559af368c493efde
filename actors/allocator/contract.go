package allocator

import (
	"time"

	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// MetricsTopic is the cluster's metrics topic as the allocator reads it (the peer adapts its
// pubsub topic and wire decoding).
type MetricsTopic interface {
	// Subscribe opens a new subscription. The allocator opens one per actor instance and
	// cancels it when the instance stops or restarts.
	Subscribe() (MetricsSubscription, error)
}

// MetricsSubscription yields the metrics of the messages other peers publish.
type MetricsSubscription interface {
	// Next blocks until the next message and returns its metrics, each of the peer that
	// signed the message (the adapter drops the others, and this peer's own messages: the
	// informer sends those to the allocator directly). It returns an error when ctx ends or the
	// subscription is cancelled; the reader stops at the first error.
	Next(ctx context.Context) ([]api.Metric, error)
	// Cancel ends the subscription; a blocked Next returns. Safe to call twice.
	Cancel()
}

// RemovedPeers is the durable list of peers removed with peers rm (persistence.Store
// satisfies it). A fresh actor instance reads it when it starts; later removals arrive as
// messages.PeerRemoved.
type RemovedPeers interface {
	Removed() (map[peer.ID]uint64, error)
}

// Deps are what the allocator actor reads from outside. Nil fields: no subscription (tests
// send messages.MetricReceived), no removed peers, no seeding.
type Deps struct {
	Metrics MetricsTopic
	Removed RemovedPeers
	// Monitor, when set, is asked (messages.AllMetricsRequest, answered by message) for the
	// metrics it holds when an instance starts, so a restarted allocator does not wait a ping
	// interval for every peer to republish; allocations wait for that answer.
	Monitor *actor.PID
	// Warmup is how long a restarted instance (not the first) waits for metrics before it
	// refuses a pin for want of peers (monitor_ping_interval: every peer republishes within
	// it). When the monitor restarted too, both tables are empty until peers republish; a pin
	// then waits for them instead of failing. Zero: no wait.
	Warmup time.Duration
}
