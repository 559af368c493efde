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
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// maxPubsubMessage bounds a pinset batch or metrics message on the wire.
const maxPubsubMessage = 8 << 20

// gossip owns the peer's pubsub topics: <cluster_name>/pinset carries signed op batches,
// <cluster_name>/metrics carries informer metrics. One reader goroutine per subscription decodes
// and hands each message to the peer.
type gossip struct {
	ps      *pubsub.PubSub
	pinset  *pubsub.Topic
	metrics *pubsub.Topic
	subs    []*pubsub.Subscription
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
	p.gossip = g // before the readers start: onBatchMessage uses g.queued
	for _, t := range []struct {
		topic  *pubsub.Topic
		handle func(*pubsub.Message)
	}{{g.pinset, p.onBatchMessage}, {g.metrics, p.onMetricsMessage}} {
		sub, err := t.topic.Subscribe()
		if err != nil {
			return err
		}
		g.subs = append(g.subs, sub)
		handle := t.handle
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
	return nil
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
	b, err := messages.UnmarshalBatch(msg.Data)
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

// removedMetric is the pseudo-metric announcing a `peers rm` (Value: "<peer ID>@<cutoff>", the
// removed peer and the highest seq of its ops the remover holds: those stay valid everywhere).
const removedMetric = "peer_removed"

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
	b, _ := encodeMetrics([]api.Metric{{Name: removedMetric, Peer: p.ident.ID, Value: id.String() + "@" + strconv.FormatUint(cutoff, 10), Valid: true}})
	if err := p.gossip.metrics.Publish(ctx, b); err != nil {
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

// publishMetrics sends this peer's metrics to everyone and to its own monitor.
func (p *Peer) publishMetrics(ctx context.Context) {
	ms := p.collectMetrics(ctx)
	for _, m := range ms {
		p.monitor.Publish(m)
	}
	if p.gossip == nil {
		return
	}
	b, err := encodeMetrics(ms)
	if err != nil {
		return
	}
	if err := p.gossip.metrics.Publish(ctx, b); err != nil && ctx.Err() == nil {
		p.log.Debug("metrics gossip: publish", "err", err)
	}
}
