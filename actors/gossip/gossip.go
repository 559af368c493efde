// Package gossip holds the peer's pubsub topics (Topics: publishing batches, metrics and
// removal announcements, and the allocator's metrics subscription) and the gossip actor, which
// reads them: one I/O worker per subscription decodes and checks each message from another
// peer and delivers it to the actor that owns it, by message:
//   - <cluster_name>/pinset: a batch whose origin is trusted and is the message's author (or,
//     from an older peer, whose origin signature holds; pinset_wire.go) goes to the pinset (ApplyRemoteOps); a gap before its first op asks the anti-entropy
//     scheduler for a pull from the peer that relayed it;
//   - <cluster_name>/metrics: a peer's own metrics go to the monitor (MetricReceived), the
//     addresses of its ping metric to the membership actor; the allocator reads the topic
//     through its own subscription (Topics.Subscribe);
//   - <cluster_name>/removals: a removal announced by a trusted peer, or by the removed peer
//     itself (leave_on_shutdown; a follower may leave too), goes to the roster, which tells
//     the monitor, the allocator, the healer and the membership actor (PeerRemoved);
//   - <cluster_name>/tokens: bearer-token records (issued, revoked) published by a trusted
//     peer go to the tokens actor (actors/tokens), which stores them;
//   - <cluster_name>/status: status digests published by a trusted peer go to the status
//     digest actor (actors/statusdigest), which keeps the replica of each, and the version
//     vector announcement a heartbeat carries goes to the syncer, which keeps each member's
//     vector for tombstone collection (status_wire.go).
//
// The actor is a child of the root: it starts its readers when it starts and stops them (and
// waits for them) when it stops or restarts; a fresh instance subscribes again. Its first
// instance takes the subscriptions opened at Join, so messages that arrived while the peer was
// being assembled wait in them.
package gossip

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// ActorName is the gossip actor's name under its parent.
const ActorName = "gossip"

// Pinset merges remote ops (the pinset's facade). It never blocks.
type Pinset interface {
	ApplyRemote(ops []crdt.Op)
}

// Monitor takes other peers' metrics (the monitor's facade). It never blocks.
type Monitor interface {
	Publish(m api.Metric)
}

// Membership learns members' addresses (the membership actor's facade). It never blocks.
type Membership interface {
	Learned(info peer.AddrInfo)
}

// Roster is the peer's member view (roster.Roster).
type Roster interface {
	// ConfigTrusted is consensus.crdt.trusted_peers alone.
	ConfigTrusted(id peer.ID) bool
	// Trusted is ConfigTrusted minus removed peers.
	Trusted(id peer.ID) bool
	// Cutoff is the seq up to which a removed peer's ops stay valid (ok: id was removed).
	Cutoff(id peer.ID) (seq uint64, ok bool)
	IsRemoved(id peer.ID) bool
	// Forget applies a removal.
	Forget(id peer.ID, cutoff uint64)
}

// Seqs reads the highest contiguous seq stored per origin (persistence.Store).
type Seqs interface {
	LastSeq(origin peer.ID) (uint64, error)
}

// Puller asks for a pull from a peer soon (the anti-entropy scheduler). It never blocks.
type Puller interface {
	PullFrom(id peer.ID)
}

// Tokens takes the token records other peers published, and hears of the peers that join the
// tokens topic (the tokens actor's facade). It never blocks.
type Tokens interface {
	Merge(from peer.ID, recs []api.TokenRecord)
	Joined(id peer.ID)
}

// Deps are the gossip actor's topics and the owners of what it reads. All are required.
type Deps struct {
	Topics     *Topics
	Host       host.Host
	Pinset     Pinset
	Monitor    Monitor
	Membership Membership
	Roster     Roster
	Seqs       Seqs
	Puller     Puller
	Tokens     Tokens
	// Digests takes the status digests (optional: nil ignores them).
	Digests Digests
	// Versions takes the version vector announcements that status digest heartbeats carry
	// (optional: nil ignores them).
	Versions Versions
	// Arrivals is told the last seq of each batch handed to the pinset (optional; the
	// syncer's Streams: pulls then leave out what is on its way).
	Arrivals Arrivals
}

// Arrivals records, per origin, the last seq gossiped to the pinset. It never blocks for long.
type Arrivals interface {
	Arrived(origin peer.ID, seq uint64)
}

// Gossip is the gossip actor's facade.
type Gossip struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// Spawn starts the gossip actor under parent; its readers start with it.
func Spawn(parent root.Parent, deps Deps, log *slog.Logger) (*Gossip, error) {
	if deps.Topics == nil || deps.Host == nil || deps.Pinset == nil || deps.Monitor == nil || deps.Membership == nil ||
		deps.Roster == nil || deps.Seqs == nil || deps.Puller == nil || deps.Tokens == nil {
		return nil, fmt.Errorf("gossip: every dependency is required")
	}
	if log == nil {
		log = slog.Default()
	}
	props := actor.PropsFromProducer(func() actor.Actor { return &gossipActor{deps: deps, log: log} })
	pid, err := parent.SpawnNamed(props, ActorName)
	if err != nil {
		return nil, fmt.Errorf("gossip: spawn: %w", err)
	}
	return &Gossip{system: parent.ActorSystem(), pid: pid}, nil
}

// Stop stops the actor and waits for its readers.
func (g *Gossip) Stop() { _ = g.system.Root.StopFuture(g.pid).Wait() }

// readerEnded: a reader stopped on an error other than its cancellation.
type readerEnded struct {
	topic string
	err   error
}

type gossipActor struct {
	deps    Deps
	log     *slog.Logger
	opened  opened
	cancel  context.CancelFunc
	readers sync.WaitGroup
}

func (a *gossipActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.stop()
	case readerEnded:
		a.log.Warn("gossip: a topic reader stopped", "topic", m.topic, "err", m.err)
	}
}

// start subscribes and starts one reader per topic.
func (a *gossipActor) start(ctx actor.Context) {
	o, err := a.deps.Topics.subscriptions()
	if err != nil {
		a.log.Warn("gossip: subscribing to the topics", "err", err)
		return
	}
	rctx, cancel := context.WithCancel(context.Background())
	a.opened, a.cancel = o, cancel
	self, system := ctx.Self(), ctx.ActorSystem()
	r := &reader{deps: a.deps, log: a.log, self: a.deps.Host.ID(), queued: map[peer.ID]uint64{}}
	names := []string{"pinset", "metrics", "removals", "tokens", "status"}
	for i, handle := range []func(*pubsub.Message){r.onBatch, r.onMetrics, r.onRemoval, r.onTokens, r.onStatus} {
		sub, name := o.subs[i], names[i]
		a.readers.Add(1)
		go func() {
			defer a.readers.Done()
			if err := r.read(rctx, sub, handle); err != nil && rctx.Err() == nil {
				system.Root.Send(self, readerEnded{topic: name, err: err})
			}
		}()
	}
	a.readers.Add(1)
	go func() {
		defer a.readers.Done()
		if err := readJoins(rctx, o.joins, a.deps.Tokens); err != nil && rctx.Err() == nil {
			system.Root.Send(self, readerEnded{topic: "tokens (joins)", err: err})
		}
	}()
}

// readJoins is the tokens topic's peer-event worker: it tells the tokens actor of each peer
// that joins the topic (it publishes its recent records again: actors/tokens/republish.go).
func readJoins(ctx context.Context, h *pubsub.TopicEventHandler, tokens Tokens) error {
	for {
		ev, err := h.NextPeerEvent(ctx)
		if err != nil {
			return err
		}
		if ev.Type == pubsub.PeerJoin {
			tokens.Joined(ev.Peer)
		}
	}
}

// stop cancels the subscriptions and waits for the readers (each ends at its next Next).
func (a *gossipActor) stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.opened.cancel()
	a.readers.Wait()
	a.cancel, a.opened = nil, opened{}
}

// reader is the state of one actor instance's readers. queued is the pinset reader's alone.
type reader struct {
	deps Deps
	log  *slog.Logger
	self peer.ID
	// queued is, per origin, the highest seq handed to the pinset for merging. A batch that
	// follows one still waiting in the pinset's mailbox is no gap: without it, every large
	// batch that arrived while the previous one was being written triggered a pull of ops
	// already on their way.
	queued map[peer.ID]uint64
	// signing is the pinset reader's buffer for a batch's signing bytes, reused.
	signing []byte
}

// read is one subscription's I/O worker: it hands each message from another peer to handle,
// until the subscription ends (cancelled or closed: the actor is stopping).
func (r *reader) read(ctx context.Context, sub *pubsub.Subscription, handle func(*pubsub.Message)) error {
	for {
		msg, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		if msg.ReceivedFrom == r.self && msg.GetFrom() == r.self {
			continue // our own message
		}
		handle(msg)
	}
}

// onBatch verifies a batch (trusted origin, authenticated as the origin's) and hands its ops to the
// pinset. A gap before the batch's first op asks for a pull from the peer that relayed it.
func (r *reader) onBatch(msg *pubsub.Message) {
	data, byAuthor, err := decodePinsetMessage(msg.Data)
	if err != nil {
		r.log.Warn("pinset gossip: dropping undecodable batch", "from", msg.ReceivedFrom, "err", err)
		return
	}
	b, err := crdt.UnmarshalBatch(data)
	if err != nil {
		r.log.Warn("pinset gossip: dropping undecodable batch", "from", msg.ReceivedFrom, "err", err)
		return
	}
	if !r.deps.Roster.ConfigTrusted(b.Origin) {
		r.log.Debug("pinset gossip: ignoring batch from untrusted origin", "origin", b.Origin)
		return
	}
	if byAuthor {
		// pubsub checked the author's signature on the message (StrictSign; pinset_wire.go).
		// An unsigned message would mean that policy changed: refuse rather than trust From.
		if len(msg.GetSignature()) == 0 {
			r.log.Warn("pinset gossip: rejecting unsigned message (pubsub signing is off?)", "author", msg.GetFrom(), "relay", msg.ReceivedFrom)
			return
		}
		if b.Origin != msg.GetFrom() {
			r.log.Warn("pinset gossip: rejecting forged batch (origin is not the message's author)", "origin", b.Origin, "author", msg.GetFrom(), "relay", msg.ReceivedFrom)
			return
		}
	} else if !r.signedByOrigin(data, b) {
		r.log.Warn("pinset gossip: rejecting forged batch (bad origin signature)", "origin", b.Origin, "relay", msg.ReceivedFrom)
		return
	}
	if cutoff, removed := r.deps.Roster.Cutoff(b.Origin); removed {
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
	if last, err := r.deps.Seqs.LastSeq(b.Origin); err == nil && b.Ops[0].Seq > max(last, r.queued[b.Origin])+1 {
		r.deps.Puller.PullFrom(msg.ReceivedFrom)
	}
	end := b.Ops[len(b.Ops)-1].Seq
	if end > r.queued[b.Origin] {
		r.queued[b.Origin] = end
	}
	r.deps.Pinset.ApplyRemote(b.Ops)
	if r.deps.Arrivals != nil {
		r.deps.Arrivals.Arrived(b.Origin, end)
	}
}

// signedByOrigin checks a signed batch's signature (the forms older peers send).
func (r *reader) signedByOrigin(data []byte, b crdt.Batch) bool {
	pub, err := b.Origin.ExtractPublicKey()
	if err != nil {
		return false
	}
	r.signing = crdt.ReceivedSigningBytes(r.signing[:0], data, b)
	ok, err := pub.Verify(r.signing, b.Signature)
	return err == nil && ok
}

// onMetrics feeds metrics to the monitor. A peer may only speak for itself.
func (r *reader) onMetrics(msg *pubsub.Message) {
	ms, err := decodeMetrics(msg.Data)
	if err != nil {
		r.log.Warn("metrics gossip: dropping undecodable message", "from", msg.GetFrom(), "err", err)
		return
	}
	for _, m := range ms {
		if m.Peer != msg.GetFrom() {
			continue
		}
		if m.Name == removedMetric {
			// A 0.1.0 peer announces a removal this way; newer peers use the removals topic.
			if id, cutoff, err := parseRemoval(m.Value); err == nil && r.deps.Roster.Trusted(m.Peer) {
				r.deps.Roster.Forget(id, cutoff)
			}
			continue
		}
		if r.deps.Roster.IsRemoved(m.Peer) {
			continue
		}
		if m.Name == "ping" {
			r.learnAddrs(m.Peer, m.Value)
		}
		r.deps.Monitor.Publish(m)
	}
}

// onRemoval applies a removal announced by a trusted peer, or by the removed peer itself
// (leave_on_shutdown): a peer may always take itself out, follower or not, and pubsub signs
// the sender, so no one can leave in another's name.
func (r *reader) onRemoval(msg *pubsub.Message) {
	id, cutoff, err := decodeRemoval(msg.Data)
	if err != nil {
		r.log.Warn("removals gossip: dropping undecodable message", "from", msg.GetFrom(), "err", err)
		return
	}
	if id != msg.GetFrom() && !r.deps.Roster.Trusted(msg.GetFrom()) {
		r.log.Debug("removals gossip: ignoring a removal from an untrusted peer", "from", msg.GetFrom())
		return
	}
	r.deps.Roster.Forget(id, cutoff)
}

// learnAddrs hands the addresses a member's ping metric carries (or none: the ping still says
// it is alive) to the membership actor, which remembers them (peerstore file) and dials the
// member when not connected (it may have bootstrapped to another peer), so every pair of
// peers talks directly.
func (r *reader) learnAddrs(id peer.ID, addrs string) {
	if id == r.self {
		return
	}
	var mas []ma.Multiaddr
	for _, a := range strings.Split(addrs, ",") {
		if m, err := ma.NewMultiaddr(strings.TrimSpace(a)); err == nil {
			mas = append(mas, m)
		}
	}
	if len(mas) == 0 {
		r.deps.Membership.Learned(peer.AddrInfo{ID: id}) // alive, no address to learn
		return
	}
	h := r.deps.Host
	if h.Network().Connectedness(id) != network.Connected {
		// Beyond connection_manager.low_water+1 members most are not connected, and calls to
		// them dial these addresses: they must outlast a ping interval (a temporary TTL is 2
		// minutes; large clusters may ping less often).
		h.Peerstore().AddAddrs(id, mas, peerstore.RecentlyConnectedAddrTTL)
	}
	r.deps.Membership.Learned(peer.AddrInfo{ID: id, Addrs: mas})
}
