package gossip

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/api"
)

// maxPubsubMessage bounds a pinset batch or metrics message on the wire.
const maxPubsubMessage = 8 << 20

// Topics are the peer's pubsub topics: <cluster_name>/pinset carries op batches,
// <cluster_name>/metrics carries informer metrics, <cluster_name>/removals announces peers
// removed with peers rm, <cluster_name>/tokens carries the records of bearer tokens issued or
// revoked (token_wire.go). Topics publishes on them (batcher.Publisher, informer.Topic, the
// removal announcements) and opens subscriptions (allocator.MetricsTopic, the gossip actor's
// readers).
type Topics struct {
	self     peer.ID
	pinset   *pubsub.Topic
	metrics  *pubsub.Topic
	removals *pubsub.Topic
	tokens   *pubsub.Topic
	status   *pubsub.Topic
	// first are the subscriptions opened at Join, handed to the gossip actor's first instance:
	// messages (and joins) that arrive before it runs wait in them.
	first chan opened
}

// opened are one gossip actor instance's subscriptions: one per topic (in subscribe's order)
// and the tokens topic's peer events.
type opened struct {
	subs  []*pubsub.Subscription
	joins *pubsub.TopicEventHandler
}

func (o opened) cancel() {
	cancelAll(o.subs)
	o.joins.Cancel()
}

// Join starts gossipsub on h (for as long as ctx lasts), joins the cluster's topics and
// subscribes to them.
func Join(ctx context.Context, h host.Host, clusterName string) (*Topics, error) {
	opts := append(gossipOptions(),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithMaxMessageSize(maxPubsubMessage),
	)
	ps, err := pubsub.NewGossipSub(ctx, h, opts...)
	if err != nil {
		return nil, fmt.Errorf("starting gossipsub: %w", err)
	}
	t := &Topics{self: h.ID(), first: make(chan opened, 1)}
	if t.pinset, err = ps.Join(clusterName + "/pinset"); err != nil {
		return nil, err
	}
	if t.metrics, err = ps.Join(clusterName + "/metrics"); err != nil {
		return nil, err
	}
	if t.removals, err = ps.Join(clusterName + "/removals"); err != nil {
		return nil, err
	}
	if t.tokens, err = ps.Join(clusterName + "/tokens"); err != nil {
		return nil, err
	}
	if t.status, err = ps.Join(clusterName + "/status"); err != nil {
		return nil, err
	}
	o, err := t.subscribe()
	if err != nil {
		return nil, err
	}
	t.first <- o
	return t, nil
}

// subscribe opens one subscription per topic (pinset, metrics, removals, tokens, status) and
// the tokens topic's event handler.
func (t *Topics) subscribe() (opened, error) {
	var o opened
	for _, topic := range []*pubsub.Topic{t.pinset, t.metrics, t.removals, t.tokens, t.status} {
		sub, err := topic.Subscribe(pubsub.WithBufferSize(subscriptionBuffer))
		if err != nil {
			cancelAll(o.subs)
			return opened{}, err
		}
		o.subs = append(o.subs, sub)
	}
	joins, err := t.tokens.EventHandler()
	if err != nil {
		cancelAll(o.subs)
		return opened{}, err
	}
	o.joins = joins
	return o, nil
}

// subscriptions are the ones opened at Join the first time, fresh ones after.
func (t *Topics) subscriptions() (opened, error) {
	select {
	case o := <-t.first:
		return o, nil
	default:
		return t.subscribe()
	}
}

// Close cancels the subscriptions opened at Join if no reader took them.
func (t *Topics) Close() {
	select {
	case o := <-t.first:
		o.cancel()
	default:
	}
}

func cancelAll(subs []*pubsub.Subscription) {
	for _, s := range subs {
		s.Cancel()
	}
}

// Publish publishes an unsigned batch of this peer's on the pinset topic (batcher.Publisher;
// pinset_wire.go says how receivers authenticate it).
func (t *Topics) Publish(ctx context.Context, data []byte) error {
	return t.pinset.Publish(ctx, encodePinsetMessage(data))
}

// PublishMetrics publishes this peer's metrics on the metrics topic (informer.Topic).
func (t *Topics) PublishMetrics(ctx context.Context, ms []api.Metric) error {
	b, err := encodeMetrics(ms)
	if err != nil {
		return err
	}
	return t.metrics.Publish(ctx, b)
}

// AnnounceRemoval publishes that id was removed, its ops valid up to cutoff, on the removals
// topic.
func (t *Topics) AnnounceRemoval(ctx context.Context, id peer.ID, cutoff uint64) error {
	b, _ := encodeRemoval(id, cutoff)
	return t.removals.Publish(ctx, b)
}

// Subscribe opens a subscription to the metrics topic for the allocator
// (allocator.MetricsTopic).
func (t *Topics) Subscribe() (allocator.MetricsSubscription, error) {
	sub, err := t.metrics.Subscribe(pubsub.WithBufferSize(subscriptionBuffer))
	if err != nil {
		return nil, err
	}
	return metricsSubscription{self: t.self, sub: sub}, nil
}

type metricsSubscription struct {
	self peer.ID
	sub  *pubsub.Subscription
}

// Next returns the metrics of the next message from another peer, those of the peer that
// signed it only (a peer may only speak for itself). Undecodable messages are skipped.
func (ms metricsSubscription) Next(ctx context.Context) ([]api.Metric, error) {
	for {
		msg, err := ms.sub.Next(ctx)
		if err != nil {
			return nil, err
		}
		if msg.GetFrom() == ms.self {
			continue // our own: the informer sends those to the allocator directly
		}
		got, err := decodeMetrics(msg.Data)
		if err != nil {
			continue // the gossip actor's reader logs it
		}
		out := got[:0]
		for _, m := range got {
			if m.Peer == msg.GetFrom() && m.Name != removedMetric {
				out = append(out, m)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
}

func (ms metricsSubscription) Cancel() { ms.sub.Cancel() }

// removedMetric is how pincluster 0.1.0 announced a `peers rm`, as a pseudo-metric (Value:
// "<peer ID>@<cutoff>"). It is still read, so a cluster upgraded one peer at a time hears
// removals from peers not yet upgraded; it is no longer sent.
const removedMetric = "peer_removed"

func parseRemoval(v string) (peer.ID, uint64, error) {
	idStr, seqStr, _ := strings.Cut(v, "@")
	id, err := peer.Decode(idStr)
	if err != nil {
		return "", 0, err
	}
	var cutoff uint64
	if seqStr != "" {
		if cutoff, err = strconv.ParseUint(seqStr, 10, 64); err != nil {
			return "", 0, err
		}
	}
	return id, cutoff, nil
}
