package peer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// maxPubsubMessage bounds a pinset batch or metrics message on the wire.
const maxPubsubMessage = 8 << 20

// gossip owns the peer's pubsub topics: <cluster_name>/pinset carries signed op batches,
// <cluster_name>/metrics carries informer metrics, <cluster_name>/removals announces peers
// removed with peers rm. One reader goroutine per subscription (an I/O worker) decodes and
// hands each message to its actor by message (pinset, monitor, the removal path); the
// allocator reads the metrics topic through its own subscription (metricsTopic).
type gossip struct {
	ps       *pubsub.PubSub
	pinset   *pubsub.Topic
	metrics  *pubsub.Topic
	removals *pubsub.Topic
	subs     []*pubsub.Subscription
	// queued is, per origin, the highest seq handed to the pinset for merging. Only the pinset
	// topic's reader goroutine uses it. A batch that follows one still waiting in the pinset's
	// mailbox is no gap: without it, every large batch that arrived while the previous one was
	// being written triggered a pull of ops already on their way.
	queued map[libp2ppeer.ID]uint64
}

func (p *Peer) startGossip(ctx context.Context) error {
	ps, err := pubsub.NewGossipSub(ctx, p.host,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithMaxMessageSize(maxPubsubMessage),
	)
	if err != nil {
		return fmt.Errorf("starting gossipsub: %w", err)
	}
	g := &gossip{ps: ps, queued: map[libp2ppeer.ID]uint64{}}
	name := p.cfg.Consensus.CRDT.ClusterName
	if g.pinset, err = ps.Join(name + "/pinset"); err != nil {
		return err
	}
	if g.metrics, err = ps.Join(name + "/metrics"); err != nil {
		return err
	}
	if g.removals, err = ps.Join(name + "/removals"); err != nil {
		return err
	}
	for _, t := range []*pubsub.Topic{g.pinset, g.metrics, g.removals} {
		sub, err := t.Subscribe()
		if err != nil {
			return err
		}
		g.subs = append(g.subs, sub)
	}
	p.gossip = g
	return nil
}

// readGossip starts one reader (an I/O worker) per subscription, once the actors its messages
// go to exist; messages that arrived before wait in the subscriptions.
func (p *Peer) readGossip(ctx context.Context) {
	g := p.gossip
	for i, handle := range []func(*pubsub.Message){p.onBatchMessage, p.onMetricsMessage, p.onRemovalMessage} {
		sub := g.subs[i]
		p.goLoop(func() {
			for {
				msg, err := sub.Next(ctx)
				if err != nil {
					return // cancelled or closed: the peer is stopping
				}
				if msg.ReceivedFrom == p.ident.ID && msg.GetFrom() == p.ident.ID {
					continue // our own message
				}
				handle(msg)
			}
		})
	}
}

func (g *gossip) close() {
	for _, s := range g.subs {
		s.Cancel()
	}
}

// pubsubPublisher publishes batches on the pinset topic (batcher.Publisher).
type pubsubPublisher struct{ p *Peer }

func (pp pubsubPublisher) Publish(ctx context.Context, data []byte) error {
	return pp.p.gossip.pinset.Publish(ctx, data)
}

// signBatch signs with the peer's identity key (batcher.Signer).
func (p *Peer) signBatch(b []byte) ([]byte, error) { return p.ident.PrivKey.Sign(b) }

// trusted reports whether ops originated by id are accepted (consensus.crdt.trusted_peers,
// minus peers removed with peers rm).
func (p *Peer) trusted(id libp2ppeer.ID) bool {
	if id != p.ident.ID && p.members_.isRemoved(id) {
		return false // removed with peers rm: its calls and later ops are refused for good
	}
	return p.configTrusted(id)
}

// trustedOp reports whether an op is accepted: its origin is trusted, or was trusted until it
// was removed and the op is one it made before (seq up to the removal's cutoff), which every
// peer accepts alike.
func (p *Peer) trustedOp(origin libp2ppeer.ID, seq uint64) bool {
	if cutoff, removed := p.members_.cutoff(origin); removed {
		return seq <= cutoff && p.configTrusted(origin)
	}
	return p.trusted(origin)
}

// configTrusted is consensus.crdt.trusted_peers alone.
func (p *Peer) configTrusted(id libp2ppeer.ID) bool {
	if id == p.ident.ID {
		return true
	}
	for _, t := range p.cfg.Consensus.CRDT.TrustedPeers {
		if t == "*" || t == id.String() {
			return true
		}
	}
	return false
}

// onBatchMessage verifies a batch (trusted origin, origin's signature) and merges its ops. A gap
// before the batch's first op triggers a pull from the peer that relayed it.
func (p *Peer) onBatchMessage(msg *pubsub.Message) {
	b, err := crdt.UnmarshalBatch(msg.Data)
	if err != nil {
		p.log.Warn("pinset gossip: dropping undecodable batch", "from", msg.ReceivedFrom, "err", err)
		return
	}
	if !p.configTrusted(b.Origin) {
		p.log.Debug("pinset gossip: ignoring batch from untrusted origin", "origin", b.Origin)
		return
	}
	pub, err := b.Origin.ExtractPublicKey()
	if err != nil {
		p.log.Warn("pinset gossip: origin has no extractable key", "origin", b.Origin)
		return
	}
	ok, err := pub.Verify(b.SigningBytes(), b.Signature)
	if err != nil || !ok {
		p.log.Warn("pinset gossip: rejecting forged batch (bad origin signature)", "origin", b.Origin, "relay", msg.ReceivedFrom)
		return
	}
	if cutoff, removed := p.members_.cutoff(b.Origin); removed {
		ops := b.Ops[:0:0]
		for _, op := range b.Ops {
			if op.Seq <= cutoff {
				ops = append(ops, op)
			}
		}
		b.Ops = ops
	}
	if len(b.Ops) == 0 {
		return
	}
	if last, err := p.store.LastSeq(b.Origin); err == nil && b.Ops[0].Seq > max(last, p.gossip.queued[b.Origin])+1 {
		p.requestPull(msg.ReceivedFrom)
	}
	if end := b.Ops[len(b.Ops)-1].Seq; end > p.gossip.queued[b.Origin] {
		p.gossip.queued[b.Origin] = end
	}
	p.pinset.ApplyRemote(b.Ops)
}

// onMetricsMessage feeds metrics to the monitor. A peer may only speak for itself.
func (p *Peer) onMetricsMessage(msg *pubsub.Message) {
	ms, err := decodeMetrics(msg.Data)
	if err != nil {
		p.log.Warn("metrics gossip: dropping undecodable message", "from", msg.GetFrom(), "err", err)
		return
	}
	for _, m := range ms {
		if m.Peer != msg.GetFrom() {
			continue
		}
		if m.Name == removedMetric {
			// A 0.1.0 peer announces a removal this way; newer peers use the removals topic.
			if id, cutoff, err := parseRemoval(m.Value); err == nil && p.trusted(m.Peer) {
				p.forget(id, cutoff)
			}
			continue
		}
		if p.members_.isRemoved(m.Peer) {
			continue
		}
		if m.Name == "ping" {
			p.learnAddrs(m.Peer, m.Value)
		}
		p.monitor.Publish(m)
	}
}

// removedMetric is how pincluster 0.1.0 announced a `peers rm`, as a pseudo-metric (Value:
// "<peer ID>@<cutoff>"). It is still read, so a cluster upgraded one peer at a time hears
// removals from peers not yet upgraded; it is no longer sent.
const removedMetric = "peer_removed"

// onRemovalMessage applies a removal announced by a trusted peer.
func (p *Peer) onRemovalMessage(msg *pubsub.Message) {
	id, cutoff, err := decodeRemoval(msg.Data)
	if err != nil {
		p.log.Warn("removals gossip: dropping undecodable message", "from", msg.GetFrom(), "err", err)
		return
	}
	if !p.trusted(msg.GetFrom()) {
		p.log.Debug("removals gossip: ignoring a removal from an untrusted peer", "from", msg.GetFrom())
		return
	}
	p.forget(id, cutoff)
}

func parseRemoval(v string) (libp2ppeer.ID, uint64, error) {
	idStr, seqStr, _ := strings.Cut(v, "@")
	id, err := libp2ppeer.Decode(idStr)
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

// announceRemoval tells every peer that id was removed, and forgets it here.
func (p *Peer) announceRemoval(ctx context.Context, id libp2ppeer.ID) {
	cutoff, _ := p.store.LastSeq(id)
	p.forget(id, cutoff)
	b, _ := encodeRemoval(id, cutoff)
	if err := p.gossip.removals.Publish(ctx, b); err != nil {
		p.log.Warn("peers rm: announcing the removal", "err", err)
	}
}

// learnAddrs hands the addresses a member's ping metric carries to the membership actor, which
// remembers them (peerstore file) and dials the member when not connected (it may have
// bootstrapped to another peer), so every pair of peers talks directly.
func (p *Peer) learnAddrs(id libp2ppeer.ID, addrs string) {
	if id == p.ident.ID || addrs == "" {
		return
	}
	var mas []ma.Multiaddr
	for _, a := range strings.Split(addrs, ",") {
		if m, err := ma.NewMultiaddr(strings.TrimSpace(a)); err == nil {
			mas = append(mas, m)
		}
	}
	if len(mas) == 0 {
		return
	}
	if p.host.Network().Connectedness(id) != network.Connected {
		p.host.Peerstore().AddAddrs(id, mas, peerstore.TempAddrTTL)
	}
	p.membership.Learned(libp2ppeer.AddrInfo{ID: id, Addrs: mas})
}

// metricsPublisher publishes this peer's metrics on the metrics topic (informer.Topic).
type metricsPublisher struct{ p *Peer }

func (mp metricsPublisher) PublishMetrics(ctx context.Context, ms []api.Metric) error {
	b, err := encodeMetrics(ms)
	if err != nil {
		return err
	}
	return mp.p.gossip.metrics.Publish(ctx, b)
}

// metricsTopic is the metrics topic as the allocator subscribes to it (allocator.MetricsTopic).
type metricsTopic struct{ p *Peer }

func (mt metricsTopic) Subscribe() (allocator.MetricsSubscription, error) {
	sub, err := mt.p.gossip.metrics.Subscribe()
	if err != nil {
		return nil, err
	}
	return metricsSubscription{p: mt.p, sub: sub}, nil
}

type metricsSubscription struct {
	p   *Peer
	sub *pubsub.Subscription
}

// Next returns the metrics of the next message from another peer, those of the peer that
// signed it only (a peer may only speak for itself). Undecodable messages are skipped.
func (ms metricsSubscription) Next(ctx context.Context) ([]api.Metric, error) {
	for {
		msg, err := ms.sub.Next(ctx)
		if err != nil {
			return nil, err
		}
		if msg.GetFrom() == ms.p.ident.ID {
			continue // our own: the informer sends those to the allocator directly
		}
		got, err := decodeMetrics(msg.Data)
		if err != nil {
			continue // the monitor's reader logs it
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
