// Package syncer holds anti-entropy: the syncer actor answers SyncRequests from other peers with
// the ops they lack (read from the store off the actor's goroutine), and Puller asks live peers
// for what this peer lacks, page by page, until it is caught up. Sync cost follows what is
// missing, not the length of the history: a peer that missed three ops receives three ops.
//
// Trust: ops pulled here come from an authenticated libp2p peer (Noise on the private network),
// not from their origin, so the origin's batch signature is not available. A pulled op is
// applied only when both the responding peer and the op's origin are trusted
// (consensus.crdt.trusted_peers); pubsub batches, which any peer of the network can relay, are
// verified against the origin's signature instead.
package syncer

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/messages"
)

// Store is what anti-entropy reads (persistence.Store satisfies it).
type Store interface {
	VersionVector() (map[peer.ID]uint64, error)
	OpsFrom(ctx context.Context, origin peer.ID, fromSeq uint64, fn func(messages.Op) error) error
}

// ActorName is the syncer's name on every peer.
const ActorName = "syncer"

// DefaultPageSize bounds the ops of one SyncResponse.
const DefaultPageSize = 5000

type syncerActor struct {
	store Store
	log   *slog.Logger
	ctx   context.Context
}

func (a *syncerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.SyncRequest:
		a.onSyncRequest(ctx, m)
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
		resp := a.answer(m)
		system.Root.Send(sender, resp)
	}()
}

// answer collects up to Limit ops the requester lacks, origin by origin.
func (a *syncerActor) answer(m *messages.SyncRequest) *messages.SyncResponse {
	limit := m.Limit
	if limit <= 0 || limit > DefaultPageSize*4 {
		limit = DefaultPageSize
	}
	vv, err := a.store.VersionVector()
	if err != nil {
		return &messages.SyncResponse{Error: err.Error()}
	}
	resp := &messages.SyncResponse{VV: map[string]uint64{}}
	for origin, have := range vv {
		resp.VV[origin.String()] = have
	}
	errFull := fmt.Errorf("page full")
	for origin, have := range vv {
		theirs := m.VV[origin.String()]
		if have <= theirs {
			continue
		}
		if len(resp.Ops) >= limit {
			resp.More = true
			break
		}
		err := a.store.OpsFrom(a.ctx, origin, theirs+1, func(op messages.Op) error {
			if len(resp.Ops) >= limit {
				resp.More = true
				return errFull
			}
			resp.Ops = append(resp.Ops, op.Marshal())
			return nil
		})
		if err != nil && err != errFull {
			return &messages.SyncResponse{Error: err.Error()}
		}
	}
	return resp
}
