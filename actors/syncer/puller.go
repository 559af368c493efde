package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/passgate"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/telemetry"
)

// Requester sends a request to an actor on another peer and waits for the reply
// (remote.Remote satisfies it).
type Requester interface {
	Request(ctx context.Context, to *actor.PID, msg any) (any, error)
	PID(id peer.ID, name string) *actor.PID
}

// Trust reports whether ops from (or relayed by) a peer are accepted.
type Trust func(peer.ID) bool

// Option tunes a Syncer.
type Option func(*Syncer)

// WithOpTrust sets which ops are accepted, by origin and seq (default: Trust of the origin).
// A peer removed from the cluster is no longer trusted, but its ops up to the removal stay
// valid everywhere.
func WithOpTrust(f func(origin peer.ID, seq uint64) bool) Option {
	return func(s *Syncer) { s.opTrust = f }
}

// WithRemovals makes removals travel with anti-entropy: every answer carries get() (the peers
// removed with peers rm and the seq up to which their ops stay valid), and learn is told of
// what a trusted responder reports, before its ops are judged, so a peer that missed a removal
// (offline, joined later) learns it from any peer it syncs with.
func WithRemovals(get func() map[peer.ID]uint64, learn func(map[peer.ID]uint64)) Option {
	return func(s *Syncer) { s.removals, s.learnRemovals = get, learn }
}

// WithSelf names this peer, whose own ops are served up to its LastSeq (answer).
func WithSelf(id peer.ID) Option {
	return func(s *Syncer) { s.self = id }
}

// WithTransfers makes a snapshot load take turns with the status digest's pulls of whole
// digests at the peer's gate for bulk transfers (internal/passgate): a fresh peer pulled its
// member's 10M-entry digest beside the 10M-pin snapshot, and both competed for the CPU and the
// compactions that bound a catch-up. (Not the healer's gate: repinning must not wait for a
// transfer of minutes.)
func WithTransfers(g passgate.Gate) Option {
	return func(s *Syncer) { s.transfers = g }
}

// Syncer is the facade: it serves other peers' pulls and pulls for this peer. Pull may be
// called concurrently (each call is independent; the pinset actor serialises writes).
type Syncer struct {
	system  *actor.ActorSystem
	pid     *actor.PID
	store   Store
	req     Requester
	writer  Writer
	trust   Trust
	opTrust func(origin peer.ID, seq uint64) bool

	removals      func() map[peer.ID]uint64
	learnRemovals func(map[peer.ID]uint64)
	heard         func() map[peer.ID]time.Time // WithLiveness; nil: none sent
	learnHeard    func(map[peer.ID]time.Time)
	alive         func(peer.ID) // WithAnnouncements
	announceLimit rate.Limit    // per peer (announced.go; tests raise it)
	streams       *Streams      // nil: pulls ask for everything
	transfers     passgate.Gate
	log           *slog.Logger
	cancel        context.CancelFunc
	page          int
	snapshotMin   uint64 // farBehind's floor (snapshotMinOps; tests lower it)
	self          peer.ID

	resumeMu sync.Mutex
	resume   map[peer.ID]snapshotResume // interrupted snapshots (resume.go)
}

// Spawn starts the syncer actor under ActorName.
func Spawn(parent root.Parent, store Store, req Requester, writer Writer, trust Trust, log *slog.Logger, opts ...Option) (*Syncer, error) {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Syncer{system: parent.ActorSystem(), store: store, req: req, writer: writer, trust: trust, log: log, cancel: cancel,
		page: DefaultPageSize, snapshotMin: snapshotMinOps, announceLimit: announceRate}
	for _, o := range opts {
		o(s)
	}
	// A restart starts afresh: an empty seen table (seen.go).
	produce := func() actor.Actor {
		return &syncerActor{store: store, log: log, ctx: ctx, removals: s.removals, heard: s.heard, seen: map[peer.ID]SeenVV{},
			sums: map[peer.ID][crdt.SumSize]byte{}, announcers: map[peer.ID]*rate.Limiter{}, alive: s.alive, announceLimit: s.announceLimit,
			snapshotMin: s.snapshotMin, self: s.self}
	}
	pid, err := parent.SpawnNamed(actor.PropsFromProducer(produce), ActorName)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("syncer: spawn: %w", err)
	}
	s.pid = pid
	return s, nil
}

// maxSnapshotsPerPull stops a Pull whose responder keeps answering with snapshots (its log
// being trimmed faster than we catch up); the next anti-entropy round resumes.
const maxSnapshotsPerPull = 3

// Pull asks from for every op this peer lacks, page by page, and applies them; when from's
// op log was trimmed it loads from's snapshot first. It returns the number of ops and
// snapshot records applied.
func (s *Syncer) Pull(ctx context.Context, from peer.ID) (n int, err error) {
	return s.pull(ctx, from, s.streams)
}

// PullAll is Pull without leaving out the ops the gossip is delivering from peers: for a
// last pull from a peer about to go away (peers rm), whose deliveries may never end.
func (s *Syncer) PullAll(ctx context.Context, from peer.ID) (n int, err error) {
	return s.pull(ctx, from, nil)
}

func (s *Syncer) pull(ctx context.Context, from peer.ID, streams *Streams) (n int, err error) {
	defer func() {
		telemetry.PulledOps.Add(float64(n))
		if err != nil {
			telemetry.Pulls.WithLabelValues("error").Inc()
		} else {
			telemetry.Pulls.WithLabelValues("ok").Inc()
		}
	}()
	if !s.trust(from) {
		return 0, fmt.Errorf("sync: %s is not a trusted peer", from)
	}
	// Barrier (held.go): ops already received are applied before we say what we hold.
	if err := s.writer.ApplyRemoteWait(ctx, nil); err != nil {
		return 0, err
	}
	total, snapshots := 0, 0
	relayed := false
	r, ok, err := s.takeResume(from)
	if err != nil {
		return 0, err
	}
	if ok {
		n, resumed, err := s.resumeSnapshot(ctx, from, r)
		total += n
		if err != nil {
			return total, err
		}
		if resumed {
			snapshots++
			s.log.Info("anti-entropy: loaded a snapshot (resumed)", "from", from, "records", n)
		}
	}
	for {
		vv, err := s.store.VersionVector()
		if err != nil {
			return total, err
		}
		held, err := heldRanges(ctx, s.store, vv, streams.tails())
		if err != nil {
			return total, err
		}
		resp, err := s.request(ctx, from, &messages.SyncRequest{VV: encodeVV(vv), Limit: s.page, Held: held})
		if err != nil {
			return total, err
		}
		s.learn(resp)
		if !relayed { // every page carries the same: once a pull
			s.learnLiveness(resp.Heard, resp.HeardAt)
			relayed = true
		}
		if resp.Snapshot {
			if snapshots++; snapshots > maxSnapshotsPerPull {
				return total, fmt.Errorf("sync from %s: still answering with snapshots after %d: retry later", from, maxSnapshotsPerPull)
			}
			n, err := s.loadSnapshot(ctx, from, resp)
			total += n
			if err != nil {
				return total, err
			}
			s.log.Info("anti-entropy: loaded a snapshot", "from", from, "records", n)
			continue // then the ops after it
		}
		ops := make([]crdt.Op, 0, len(resp.Ops))
		for _, b := range resp.Ops {
			telemetry.PulledBytes.Add(float64(len(b)))
			op, err := crdt.UnmarshalOp(b)
			if err != nil {
				return total, fmt.Errorf("sync from %s: %w", from, err)
			}
			if !s.trustOp(op) {
				continue
			}
			ops = append(ops, op)
		}
		if len(ops) > 0 {
			if err := s.writer.ApplyRemoteWait(ctx, ops); err != nil {
				return total, err
			}
			total += len(ops)
		}
		// A page with nothing we accept (only untrusted origins) will not move our version
		// vector, so asking again would return the same page: stop.
		if !resp.More || len(resp.Ops) == 0 || len(ops) == 0 {
			return total, nil
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// request sends one SyncRequest and checks the reply; it records the responder's version
// vector.
func (s *Syncer) request(ctx context.Context, from peer.ID, req *messages.SyncRequest) (*messages.SyncResponse, error) {
	res, err := s.req.Request(ctx, s.req.PID(from, ActorName), req)
	if err != nil {
		return nil, fmt.Errorf("sync from %s: %w", from, err)
	}
	resp, ok := res.(*messages.SyncResponse)
	if !ok {
		return nil, fmt.Errorf("sync from %s: unexpected reply %T", from, res)
	}
	if resp.Error != "" {
		return nil, fmt.Errorf("sync from %s: %s", from, resp.Error)
	}
	if resp.VV != nil {
		vv, err := decodeVV(resp.VV)
		if err != nil {
			return nil, fmt.Errorf("sync from %s: %w", from, err)
		}
		s.noteVV(from, vv)
	}
	return resp, nil
}

// Stop stops the syncer actor.
func (s *Syncer) Stop() {
	s.cancel()
	_ = s.system.Root.StopFuture(s.pid).Wait()
}

// trustOp reports whether op is accepted (WithOpTrust, else its origin's trust).
func (s *Syncer) trustOp(op crdt.Op) bool {
	if s.opTrust != nil {
		return s.opTrust(op.Origin, op.Seq)
	}
	return s.trust(op.Origin)
}

// learn hands the removals a response carries to the owner.
func (s *Syncer) learn(resp *messages.SyncResponse) {
	if s.learnRemovals == nil || len(resp.Removed) == 0 {
		return
	}
	removed, err := decodeVV(resp.Removed)
	if err != nil {
		s.log.Warn("sync: ignoring malformed removals in an answer", "err", err)
		return
	}
	s.learnRemovals(removed)
}
