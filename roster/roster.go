// Package roster is a peer's view of who is in the cluster: the peers removed with `peers rm`
// (each with the seq up to which its ops stay valid), the trust rules (trusted_peers minus
// removed peers), the visible members, and the removal path (forget a peer, announce a removal,
// learn removals from anti-entropy). Many parts ask it synchronously (the remote layer's
// policy hook, the syncer, the gossip readers, the services), so it is a small locked table
// rather than an actor; it is apart from peer, which only builds it and hands it around.
//
// A removal is told to the actors that keep a view of the members by message
// (messages.PeerRemoved to the monitor, the allocator and the healer; Forget to the membership
// actor), and the removed peer's ops after its cutoff are dropped by an I/O worker that hands
// the unpins to the tracker.
package roster

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/membership"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/actors/syncer"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
	"github.com/pincluster/pincluster/remote"
)

// Config is what the roster needs from the peer's config and identity.
type Config struct {
	Self         peer.ID
	Peername     string
	TrustedPeers []string // consensus.crdt.trusted_peers ("*" = all)
}

// Actors are the parts the roster tells about removals and asks about liveness. They are
// spawned after the roster exists (the remote layer and the syncer need its trust rules
// first), so the peer attaches them once they run.
type Actors struct {
	System  *actor.ActorSystem
	Monitor *monitor.Monitor
	// Pinset drops a removed peer's ops after its cutoff (a write: the pinset actor's).
	Pinset interface {
		DropAfterCutoff(ctx context.Context, origin peer.ID, cutoff uint64) (int, error)
	}
	Collector *syncer.Collector
	// Removed are told messages.PeerRemoved (the monitor, the allocator, the healer).
	Removed []*actor.PID
	// Announce publishes a removal to every peer (the removals topic).
	Announce func(ctx context.Context, id peer.ID, cutoff uint64) error
}

// Roster is the peer's member view. Its methods are safe for concurrent use.
type Roster struct {
	cfg   Config
	host  host.Host
	store *persistence.Store
	log   *slog.Logger
	a     Actors
	// membership is spawned last of all (see AttachMembership).
	membership *membership.Membership

	mu sync.Mutex
	// removed maps each peer removed with peers rm to the seq up to which its ops stay valid.
	removed map[peer.ID]uint64
	// selfRemoved is told that a trusted peer reports this peer's own removal (OnSelfRemoved).
	selfRemoved func()

	ctx     context.Context // cancelled by Close; the drop workers run under it
	cancel  context.CancelFunc
	wmu     sync.Mutex // orders starting a drop worker with Close
	closed  bool
	workers sync.WaitGroup
}

// New builds the roster over the host and the store, with the removals the store recorded.
func New(cfg Config, h host.Host, store *persistence.Store, log *slog.Logger) (*Roster, error) {
	removed, err := store.Removed()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Roster{cfg: cfg, host: h, store: store, log: log, removed: map[peer.ID]uint64{}, ctx: ctx, cancel: cancel}
	for id, cutoff := range removed {
		r.remove(id, cutoff)
	}
	return r, nil
}

// Attach hands the roster the actors it tells about removals (see Actors), before any of
// its methods but the trust rules is called.
func (r *Roster) Attach(a Actors) {
	r.mu.Lock()
	r.a = a
	r.mu.Unlock()
	r.resumeDrops()
}

// actors reads what Attach handed: the syncer may answer a remote peer's request (and read
// the collector) while the peer is still starting, before Attach.
func (r *Roster) actors() Actors {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.a
}

// NotifyRemovals adds an actor told messages.PeerRemoved, for one spawned after Attach (the
// status digest actor).
func (r *Roster) NotifyRemovals(pid *actor.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.a.Removed = append(r.a.Removed[:len(r.a.Removed):len(r.a.Removed)], pid)
}

// AttachMembership hands the roster the membership actor, which it tells to forget removed
// peers, before the first removal can be applied.
func (r *Roster) AttachMembership(m *membership.Membership) {
	r.mu.Lock()
	r.membership = m
	r.mu.Unlock()
	// A removal learned between the membership's start (its Removed list) and now.
	for _, id := range r.List() {
		m.Forget(id)
	}
}

// members is the membership actor once attached (nil before).
func (r *Roster) members() *membership.Membership {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.membership
}

// Close stops the drop workers and waits for them.
func (r *Roster) Close() {
	r.wmu.Lock()
	r.closed = true
	r.wmu.Unlock()
	r.cancel()
	r.workers.Wait()
}

// remove records id as removed, its ops valid up to seq cutoff (the highest the remover had).
func (r *Roster) remove(id peer.ID, cutoff uint64) {
	r.mu.Lock()
	r.removed[id] = max(r.removed[id], cutoff)
	r.mu.Unlock()
}

// Cutoff is the seq up to which a removed peer's ops stay valid; ok is false if id was not
// removed.
func (r *Roster) Cutoff(id peer.ID) (seq uint64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq, ok = r.removed[id]
	return seq, ok
}

// Snapshot returns the removed peers and their cutoffs.
func (r *Roster) Snapshot() map[peer.ID]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.removed)
}

// List returns the removed peers.
func (r *Roster) List() []peer.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]peer.ID, 0, len(r.removed))
	for id := range r.removed {
		out = append(out, id)
	}
	return out
}

// IsRemoved reports whether id was removed with peers rm (cluster.Members).
func (r *Roster) IsRemoved(id peer.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.removed[id]
	return ok
}

// Removed is IsRemoved (syncer.Membership).
func (r *Roster) Removed(id peer.ID) bool { return r.IsRemoved(id) }

// Trusted reports whether ops originated by id are accepted (consensus.crdt.trusted_peers,
// minus peers removed with peers rm).
func (r *Roster) Trusted(id peer.ID) bool {
	if id != r.cfg.Self && r.IsRemoved(id) {
		return false // removed with peers rm: its calls and later ops are refused for good
	}
	return r.ConfigTrusted(id)
}

// TrustedOp reports whether an op is accepted: its origin is trusted, or was trusted until it
// was removed and the op is one it made before (seq up to the removal's cutoff), which every
// peer accepts alike.
func (r *Roster) TrustedOp(origin peer.ID, seq uint64) bool {
	if cutoff, removed := r.Cutoff(origin); removed {
		return seq <= cutoff && r.ConfigTrusted(origin)
	}
	return r.Trusted(origin)
}

// ConfigTrusted is consensus.crdt.trusted_peers alone.
func (r *Roster) ConfigTrusted(id peer.ID) bool {
	if id == r.cfg.Self {
		return true
	}
	for _, t := range r.cfg.TrustedPeers {
		if t == "*" || t == id.String() {
			return true
		}
	}
	return false
}

// Self is this peer's ID (cluster.Members).
func (r *Roster) Self() peer.ID { return r.cfg.Self }

// PeerName is this peer's peername, another peer's ID (cluster.Members).
func (r *Roster) PeerName(id peer.ID) string {
	if id == r.cfg.Self {
		return r.cfg.Peername
	}
	return id.String()
}

// Members is this peer plus every peer that is connected or has a valid ping metric, minus
// removed peers, sorted (cluster.Members).
func (r *Roster) Members(ctx context.Context) []peer.ID {
	set := map[peer.ID]bool{r.cfg.Self: true}
	for _, id := range r.Connected() {
		set[id] = true
	}
	if live, err := r.actors().Monitor.LivePeers(ctx); err == nil {
		for _, id := range live {
			set[id] = true
		}
	}
	out := make([]peer.ID, 0, len(set))
	for id := range set {
		if !r.IsRemoved(id) {
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Known reports whether id is a member or a peer the membership keeps dialling (down for
// longer than its ping TTL, so no longer among Members, or a bootstrap address), and not
// removed (cluster.Members). It fails when the membership actor does not answer.
func (r *Roster) Known(ctx context.Context, id peer.ID) (bool, error) {
	if r.IsRemoved(id) {
		return false, nil
	}
	if slices.Contains(r.Members(ctx), id) {
		return true, nil
	}
	m := r.members()
	if m == nil {
		return false, nil
	}
	return m.Knows(ctx, id)
}

// Visible is Members (syncer.Membership).
func (r *Roster) Visible(ctx context.Context) []peer.ID { return r.Members(ctx) }

// Connected lists the cluster peers connected now (antientropy.Members): the host also
// carries the embedded IPFS node's connections, and an IPFS node given the cluster secret
// (swarm.key, to share the private network) connects to it too; such a peer is no member. A
// peer counts once identify shows it serves the cluster's protocol (remote.ProtocolID), or
// while identify has not told its protocols yet.
func (r *Roster) Connected() []peer.ID {
	peers := r.host.Network().Peers()
	out := peers[:0:0]
	for _, id := range peers {
		protos, err := r.host.Peerstore().GetProtocols(id)
		if err != nil || len(protos) == 0 || slices.Contains(protos, remote.ProtocolID) {
			out = append(out, id)
		}
	}
	return out
}

// Allowed reports whether ops may be pulled from id (antientropy.Members).
func (r *Roster) Allowed(id peer.ID) bool { return !r.IsRemoved(id) && r.Trusted(id) }

// Answered records that a trusted peer answered a pull (antientropy.Members; the collector
// throttles the writes).
func (r *Roster) Answered(id peer.ID) {
	if c := r.actors().Collector; c != nil {
		c.Heard(id)
	}
}

// Announced records that a trusted peer announced its version vector, a sign of life
// (syncer.WithAnnouncements; none before the collector is attached).
func (r *Roster) Announced(id peer.ID) {
	if c := r.actors().Collector; c != nil {
		c.Announced(id)
	}
}

// SignsOfLife is the collector's observed signs of life of the members, relayed in this
// peer's anti-entropy answers (none before the collector is attached).
func (r *Roster) SignsOfLife() map[peer.ID]time.Time {
	c := r.actors().Collector
	if c == nil {
		return nil
	}
	return c.SignsOfLife()
}

// LearnHeard hands the collector the last-heard times of members a trusted responder reported
// during anti-entropy (relayed signs of life).
func (r *Roster) LearnHeard(heard map[peer.ID]time.Time) {
	if c := r.actors().Collector; c != nil {
		c.Relayed(heard)
	}
}

// LearnRemovals applies the removals a trusted peer reported during anti-entropy (this peer
// was offline when they were announced, or joined later).
func (r *Roster) LearnRemovals(removed map[peer.ID]uint64) {
	for id, cutoff := range removed {
		if id == r.cfg.Self {
			r.removedSelf()
			continue
		}
		if have, ok := r.Cutoff(id); ok && have >= cutoff {
			continue
		}
		r.log.Info("learned that a peer was removed from the cluster", "peer", id, "cutoff", cutoff)
		r.Forget(id, cutoff)
	}
}

// OnSelfRemoved sets fn, called (on the reporting goroutine, at each report) when this peer
// learns that it was removed from the cluster: a trusted peer's announcement or anti-entropy
// answer names it. The other peers refuse its ops from then on, so a removed peer that ran on
// would acknowledge pins the cluster never takes (it was down when removed, or restarted with
// the removed identity): the peer stops as when it is told to leave (peer.onLeaveRequest).
func (r *Roster) OnSelfRemoved(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.selfRemoved = fn
}

func (r *Roster) removedSelf() {
	r.mu.Lock()
	fn := r.selfRemoved
	r.mu.Unlock()
	if fn == nil {
		r.log.Warn("a peer reports that this peer was removed from the cluster (peers rm); its ops are refused: give this machine a new identity (init -f) to rejoin")
		return
	}
	fn()
}

// AnnounceRemoval tells every peer that id was removed, and forgets it here. The cutoff is the
// last op of id held here, or atLeast when higher (the last op the removed peer said it made,
// when its ops could not all be pulled), taken up to maxUnpulledOps above what is held: a
// compromised peer saying MaxUint64 would keep its later ops valid for good.
func (r *Roster) AnnounceRemoval(ctx context.Context, id peer.ID, atLeast uint64) {
	cutoff, _ := r.store.LastSeq(id)
	cutoff = max(cutoff, min(atLeast, cutoff+maxUnpulledOps))
	r.Forget(id, cutoff)
	if err := r.actors().Announce(ctx, id, cutoff); err != nil {
		r.log.Warn("peers rm: announcing the removal", "err", err)
	}
}

// maxUnpulledOps bounds how far a removal's cutoff goes past the ops of the removed peer
// held here on its own word (AnnounceRemoval): more than a peer has waiting for broadcast.
const maxUnpulledOps = 1 << 20

// Forget drops a removed peer from this peer's view; its ops up to cutoff stay valid.
func (r *Roster) Forget(id peer.ID, cutoff uint64) {
	if id == r.cfg.Self {
		r.removedSelf()
		return
	}
	r.remove(id, cutoff)
	if m := r.members(); m != nil { // else AttachMembership hands it the removal
		m.Forget(id)
	}
	if err := r.store.RemoveMember(id, cutoff); err != nil {
		r.log.Warn("peers rm: forgetting the member", "peer", id, "err", err)
	}
	m := messages.PeerRemoved{Peer: id, Cutoff: cutoff}
	a := r.actors()
	for _, pid := range a.Removed {
		a.System.Root.Send(pid, m)
	}
	// Ops of id after the cutoff that arrived before the removal was known here were refused
	// by the peers that knew: the pinset drops their records too (asked from an I/O worker;
	// none once closing; a drop not done is redone at the next start, resumeDrops).
	r.startDrop(id, cutoff)
	// A timer, not a sleep: let the leave request and its reply through first.
	time.AfterFunc(2*time.Second, func() { _ = r.host.Network().ClosePeer(id) })
}

func (r *Roster) dropAfterCutoff(id peer.ID, cutoff uint64) {
	n, err := r.actors().Pinset.DropAfterCutoff(r.ctx, id, cutoff)
	if err == nil {
		err = r.store.MarkDropped(id, cutoff)
	}
	if err != nil {
		if r.ctx.Err() != nil {
			return // stopping: the drop is still pending in the store, redone at the next start
		}
		r.log.Warn("peers rm: dropping the removed peer's later ops (tried again in a while)", "peer", id, "err", err, "retry_in", dropRetry)
		time.AfterFunc(dropRetry, func() { r.startDrop(id, cutoff) })
		return
	}
	if n > 0 {
		r.log.Info("peers rm: dropped ops the removed peer made after its removal", "peer", id, "records", n)
	}
}

// dropRetry is the wait before a failed drop of a removed peer's later ops is tried again.
var dropRetry = 30 * time.Second

// startDrop runs dropAfterCutoff on an I/O worker, unless the roster is closing.
func (r *Roster) startDrop(id peer.ID, cutoff uint64) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.closed {
		return
	}
	r.workers.Add(1)
	go func() {
		defer r.workers.Done()
		r.dropAfterCutoff(id, cutoff)
	}()
}

// resumeDrops starts the drops of removed peers' later ops that a failure or a stop left
// undone (persistence: md/ below mr/). A drop reads every pin record, so it is not redone for
// every removal at each start, only for those the store says are pending.
func (r *Roster) resumeDrops() {
	pending, err := r.store.PendingDrops()
	if err != nil {
		r.log.Warn("peers rm: reading the removals whose later ops are still to drop", "err", err)
		return
	}
	for id, cutoff := range pending {
		if id != r.cfg.Self {
			r.startDrop(id, cutoff)
		}
	}
}
