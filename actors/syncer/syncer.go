// Package syncer holds anti-entropy: the syncer actor answers SyncRequests from other peers with
// the ops they lack (read from the store off the actor's goroutine), and Puller asks live peers
// for what this peer lacks, page by page, until it is caught up. Sync cost follows what is
// missing, not the length of the history: a peer that missed three ops receives three ops.
//
// Snapshots: once tombstones are collected (persistence.Store.DropTombstones) the op logs are
// trimmed, and a new or long-offline peer can no longer be sent the ops it lacks. The responder
// then streams a snapshot instead: its records (live pins and remaining tombstones) in key
// order, page by page with a cursor, each page with the version vector read before it. The
// requester merges them under last-writer-wins without logging them, removes its own records
// that the responder superseded and collected, raises its version vector to the snapshot's, and
// pulls the ops after it as usual. Ops newer than the snapshot may arrive twice; last-writer-
// wins makes that harmless. A fresh requester (farBehind) is sent a snapshot too, being
// cheaper than its ops; it fetches each page while installing the previous one.
//
// Tombstone collection (the collector actor, collector.go) needs every peer's version vector:
// the syncer actor keeps the latest one of each peer (SeenVVs), as a responder reported it to
// Pull or as the peer announced it in its status digest heartbeats (announced.go).
//
// The syncer writes nothing itself: pulled ops, snapshot pages and the version vector raise
// after a snapshot go to the pinset actor (Writer), the single writer of the pinset, which
// tells its subscribers what changed.
//
// Trust: ops pulled here come from an authenticated libp2p peer (Noise on the private network),
// not from their origin, so the origin's signature on its pubsub message is not available. A pulled op (or
// snapshot record) is applied only when both the responding peer and the op's origin are
// trusted (consensus.crdt.trusted_peers); pubsub batches, which any peer of the network can
// relay, are taken only from a message the origin signed (actors/gossip) instead.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/time/rate"

	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// Store is what anti-entropy reads (persistence.Store satisfies it). Reads may run
// concurrently with writes; see persistence for each method's contract.
type Store interface {
	VersionVector() (map[peer.ID]uint64, error)
	// OpsFrom returns a persistence.ErrTrimmed-wrapped error when the asked ops were trimmed.
	OpsFrom(ctx context.Context, origin peer.ID, fromSeq uint64, fn func(crdt.Op) error) error
	IterateRecordsAfter(ctx context.Context, after api.Cid, fn func(persistence.Record) error) error
	// HeldAbove returns up to limit ranges of origin's ops stored above after (held.go).
	HeldAbove(ctx context.Context, origin peer.ID, after uint64, limit int) ([]persistence.SeqRange, error)
	// LastSeq is the highest seq origin numbered here (for this peer: its own ops).
	LastSeq(origin peer.ID) (uint64, error)
}

var _ Store = (*persistence.Store)(nil)

// Writer is the pinset's single writer (actors/pinset): the syncer writes nothing itself.
// Each method returns once the write is durable.
type Writer interface {
	// ApplyRemoteWait merges pulled ops.
	ApplyRemoteWait(ctx context.Context, ops []crdt.Op) error
	// InstallSnapshotPage merges a snapshot page and prunes its range; the writer tells its
	// subscribers what changed.
	InstallSnapshotPage(ctx context.Context, page *pinset.InstallSnapshotPage) error
	// RaiseVersionVector records that every op up to vv is held.
	RaiseVersionVector(ctx context.Context, vv map[peer.ID]uint64) error
}

var _ Writer = (*pinset.Pinset)(nil)

// ActorName is the syncer's name on every peer.
const ActorName = "syncer"

// DefaultPageSize bounds the ops (or snapshot records) of one SyncResponse.
const DefaultPageSize = 5000

type syncerActor struct {
	store    Store
	log      *slog.Logger
	ctx      context.Context
	removals func() map[peer.ID]uint64    // WithRemovals; nil: none sent
	heard    func() map[peer.ID]time.Time // WithLiveness; nil: none sent
	seen     map[peer.ID]SeenVV           // seen.go
	// sums caches the Sum of each copy in seen that an announcement confirmed (a heartbeat
	// is then checked without hashing the vector), announcers rate-limits each peer, and
	// alive is told of each announcement taken (announced.go).
	sums          map[peer.ID][crdt.SumSize]byte
	announcers    map[peer.ID]*rate.Limiter
	announceLimit rate.Limit
	alive         func(peer.ID)

	snapshotMin uint64  // farBehind's floor
	self        peer.ID // WithSelf; "": its own ops are served up to its version vector only
}

func (a *syncerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.SyncRequest:
		a.onSyncRequest(ctx, m)
	case *vvSeen:
		a.onVVSeen(m)
	case *seenRequest:
		a.onSeenRequest(ctx)
	case *forgetSeen:
		a.onForgetSeen(m)
	case *vvAnnounced:
		a.onVVAnnounced(m)
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		a.log.Warn("syncer: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *syncerActor) onSyncRequest(ctx actor.Context, m *messages.SyncRequest) {
	sender, system := ctx.Sender(), ctx.ActorSystem()
	if sender == nil {
		return
	}
	go func() {
		resp := answer(a.ctx, a.store, m, a.self, a.snapshotMin)
		if a.removals != nil && resp.Error == "" {
			if r := a.removals(); len(r) > 0 {
				resp.Removed = encodeVV(r)
			}
		}
		if a.heard != nil && resp.Error == "" {
			if h := a.heard(); len(h) > 0 {
				resp.Heard, resp.HeardAt = encodeHeard(h), uint64(time.Now().UnixMilli())
			}
		}
		system.Root.Send(sender, resp)
	}()
}

var errPageFull = errors.New("page full")

// answer collects up to Limit ops the requester lacks, origin by origin, or a snapshot page
// when some of them were trimmed, the requester is far behind (farBehind with snapshotMin) or
// the request continues a snapshot.
//
// The responder's own ops are served up to its LastSeq, not its version vector: after `state
// cleanup` its numbering continues above the old ops (persistence.Store.SetOwnFloor) while
// its vector's own entry stays below them until they are pulled back, and until then the ops
// it makes above that gap would reach the others only by broadcast (a lost one, never). The
// vector sent back is the true one: it says what this peer holds, which collection relies on.
func answer(ctx context.Context, store Store, m *messages.SyncRequest, self peer.ID, snapshotMin uint64) *messages.SyncResponse {
	limit := m.Limit
	if limit <= 0 || limit > DefaultPageSize*4 {
		limit = DefaultPageSize
	}
	if m.Cursor != "" {
		after, err := api.DecodeCid(m.Cursor)
		if err != nil {
			return &messages.SyncResponse{Error: fmt.Sprintf("snapshot cursor %q is not a CID: %v", m.Cursor, err)}
		}
		return snapshotPage(ctx, store, after, limit)
	}
	vv, err := store.VersionVector()
	if err != nil {
		return &messages.SyncResponse{Error: err.Error()}
	}
	if len(m.Held) == 0 && farBehind(vv, m.VV, snapshotMin) { // held ops above a gap: not fresh
		return snapshotPage(ctx, store, api.Cid{}, limit)
	}
	resp := &messages.SyncResponse{VV: encodeVV(vv)}
	serve := vv
	if self != "" {
		last, err := store.LastSeq(self)
		if err != nil {
			return &messages.SyncResponse{Error: err.Error()}
		}
		if last > vv[self] {
			serve = maps.Clone(vv)
			serve[self] = last
		}
	}
	held := heldByOrigin(m.Held)
	for origin, have := range serve {
		theirs := m.VV[origin.String()]
		if have <= theirs {
			continue
		}
		if len(resp.Ops) >= limit {
			resp.More = true
			break
		}
		err := missingOps(ctx, store, origin, theirs, held[origin.String()], func(op crdt.Op) error {
			if len(resp.Ops) >= limit {
				resp.More = true
				return errPageFull
			}
			resp.Ops = append(resp.Ops, op.Marshal())
			return nil
		})
		if errors.Is(err, persistence.ErrTrimmed) {
			return snapshotPage(ctx, store, api.Cid{}, limit)
		}
		if err != nil && err != errPageFull {
			return &messages.SyncResponse{Error: err.Error()}
		}
	}
	return resp
}

// A fresh requester gets a snapshot. A peer that holds none of our origins' ops (new, or
// restarted after `state cleanup`; none in its version vector and none held above a gap)
// lacks as many ops as there are pins; sending them as ops
// costs the responder a random read of each op's record (a log entry of a live pin is a stub
// pointing at it) and the requester two writes per op (log entry and record), where a
// snapshot reads the records in key order and writes each once. Measured (a fresh peer
// joining one that holds 1M batch-ingested pins, 2 cores): caught up in 25-26 s with
// snapshots, 63-88 s with ops. The requester's log then starts after the snapshot
// (RaiseVersionVector), as after any snapshot, so a peer that later pulls from it ops older
// than that floor is sent a snapshot too. That is why only fresh requesters get one: a peer
// that is merely behind (offline for a while, a gap in the gossip with the ops after it held)
// is sent ops, and keeps a whole log to serve others.
const snapshotMinOps = 50_000 // below this many missing ops, ops are sent (a few pages)

// farBehind reports whether the requester whose version vector is theirs is fresh (none of
// our origins' ops) and lacks at least minOps ops.
func farBehind(ours map[peer.ID]uint64, theirs map[string]uint64, minOps uint64) bool {
	var missing uint64
	for origin, have := range ours {
		if theirs[origin.String()] > 0 {
			return false
		}
		missing += have
	}
	return missing >= minOps
}

// snapshotPage reads the version vector, then up to limit records after the cursor.
func snapshotPage(ctx context.Context, store Store, after api.Cid, limit int) *messages.SyncResponse {
	vv, err := store.VersionVector()
	if err != nil {
		return &messages.SyncResponse{Error: err.Error()}
	}
	resp := &messages.SyncResponse{Snapshot: true, VV: encodeVV(vv), SnapshotVV: encodeVV(vv), Records: [][]byte{}}
	var last api.Cid
	err = store.IterateRecordsAfter(ctx, after, func(r persistence.Record) error {
		if len(resp.Records) >= limit {
			resp.More = true
			return errPageFull
		}
		op := r.Op
		if r.Deleted {
			op.Kind, op.PinJSON = crdt.OpUnpin, nil
		}
		resp.Records = append(resp.Records, op.Marshal())
		last = r.Op.Cid
		return nil
	})
	if err != nil && err != errPageFull {
		return &messages.SyncResponse{Error: err.Error()}
	}
	if resp.More {
		resp.Cursor = last.String()
	}
	return resp
}

func encodeVV(vv map[peer.ID]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(vv))
	for o, seq := range vv {
		out[o.String()] = seq
	}
	return out
}

// decodeVV parses a wire version vector; origins that are not peer IDs are an error.
func decodeVV(vv map[string]uint64) (map[peer.ID]uint64, error) {
	out := make(map[peer.ID]uint64, len(vv))
	for o, seq := range vv {
		id, err := peer.Decode(o)
		if err != nil {
			return nil, fmt.Errorf("version vector origin %q is not a peer ID: %w", o, err)
		}
		out[id] = seq
	}
	return out, nil
}
