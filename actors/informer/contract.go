package informer

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/api"
)

// Source reads what this peer's metrics are made of. The informer calls it from an I/O
// worker, one call at a time.
type Source interface {
	// FreeSpace is the IPFS repo's free space in bytes (blocks on the IPFS node).
	FreeSpace(ctx context.Context) (uint64, error)
	// NodePins is the number of pins on the IPFS node, as last counted (cheap); false while
	// not known: the numpin metric is not published then.
	NodePins() (int, bool)
	// QueueLen is the number of items queued or in progress in the tracker (cheap).
	QueueLen() int
	// Addrs are the peer's listen addresses, carried by the ping metric so that peers that
	// joined through another peer can dial it.
	Addrs() []string
}

// Topic publishes metrics on the cluster's metrics topic (the peer encodes them).
type Topic interface {
	PublishMetrics(ctx context.Context, ms []api.Metric) error
}

// Deps configure the informer. Source and Topic are required.
type Deps struct {
	Self     peer.ID
	Config   monitor.InformerConfig
	Interval time.Duration // monitor_ping_interval: the ping's TTL is twice this
	Source   Source
	Topic    Topic
	// Subscribers receive every metric this peer publishes as messages.MetricReceived.
	Subscribers []*actor.PID
	// Follower adds the follower metric (monitor.MetricFollower) to every publish
	// (cluster.follower_mode).
	Follower bool
}
