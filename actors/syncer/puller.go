package syncer

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/messages"
)

// Requester sends a request to an actor on another peer and waits for the reply
// (remote.Remote satisfies it).
type Requester interface {
	Request(ctx context.Context, to *actor.PID, msg any) (any, error)
	PID(id peer.ID, name string) *actor.PID
}

// Applier merges pulled ops into the pinset and returns once they are durable.
type Applier func(ctx context.Context, ops []messages.Op) error

// Trust reports whether ops from (or relayed by) a peer are accepted.
type Trust func(peer.ID) bool

// Syncer is the facade: it serves other peers' pulls and pulls for this peer.
type Syncer struct {
	system *actor.ActorSystem
	pid    *actor.PID
	store  Store
	req    Requester
	apply  Applier
	trust  Trust
	log    *slog.Logger
	cancel context.CancelFunc
	page   int
}

// Spawn starts the syncer actor under ActorName.
func Spawn(system *actor.ActorSystem, store Store, req Requester, apply Applier, trust Trust, log *slog.Logger) (*Syncer, error) {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &syncerActor{store: store, log: log, ctx: ctx}
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return a }), ActorName)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("syncer: spawn: %w", err)
	}
	return &Syncer{system: system, pid: pid, store: store, req: req, apply: apply, trust: trust, log: log, cancel: cancel, page: DefaultPageSize}, nil
}

// Pull asks from for every op this peer lacks, page by page, and applies them. It returns the
// number of ops applied.
func (s *Syncer) Pull(ctx context.Context, from peer.ID) (int, error) {
	if !s.trust(from) {
		return 0, fmt.Errorf("sync: %s is not a trusted peer", from)
	}
	total := 0
	for {
		vv, err := s.store.VersionVector()
		if err != nil {
			return total, err
		}
		req := &messages.SyncRequest{VV: make(map[string]uint64, len(vv)), Limit: s.page}
		for o, seq := range vv {
			req.VV[o.String()] = seq
		}
		res, err := s.req.Request(ctx, s.req.PID(from, ActorName), req)
		if err != nil {
			return total, fmt.Errorf("sync from %s: %w", from, err)
		}
		resp, ok := res.(*messages.SyncResponse)
		if !ok {
			return total, fmt.Errorf("sync from %s: unexpected reply %T", from, res)
		}
		if resp.Error != "" {
			return total, fmt.Errorf("sync from %s: %s", from, resp.Error)
		}
		ops := make([]messages.Op, 0, len(resp.Ops))
		for _, b := range resp.Ops {
			op, err := messages.UnmarshalOp(b)
			if err != nil {
				return total, fmt.Errorf("sync from %s: %w", from, err)
			}
			if !s.trust(op.Origin) {
				continue
			}
			ops = append(ops, op)
		}
		if len(ops) > 0 {
			if err := s.apply(ctx, ops); err != nil {
				return total, err
			}
			total += len(ops)
		}
		if !resp.More || len(resp.Ops) == 0 {
			return total, nil
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// Behind reports whether from's version vector (as last seen) has ops this peer lacks.
func Behind(mine map[peer.ID]uint64, theirs map[string]uint64) bool {
	for o, seq := range theirs {
		id, err := peer.Decode(o)
		if err != nil {
			continue
		}
		if seq > mine[id] {
			return true
		}
	}
	return false
}

// Stop stops the syncer actor.
func (s *Syncer) Stop() {
	s.cancel()
	_ = s.system.Root.StopFuture(s.pid).Wait()
}
