package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/messages"
)

// Where a batch is held. A batch ingest ends by asking every other member to answer once it
// stores this peer's ops up to the batch's last seq (AppliedRequest), so that its summary can
// say how many peers hold the whole batch instead of leaving the user to poll them. The
// members answer from their pinset actor when the write that completes the batch ends (no
// polling); a member that lags more than the wait answers with what it holds then, and the
// summary counts it out (it catches up by gossip and anti-entropy as usual).

// AppliedWaiter is the pinset actor's AwaitApplied (actors/pinset).
type AppliedWaiter interface {
	AwaitApplied(ctx context.Context, origin peer.ID, seq uint64, wait time.Duration) (uint64, error)
}

// Replication says how many members hold every op of this peer up to a seq.
type Replication struct {
	Held  int // members holding them, this peer included
	Peers int // members asked, this peer included
}

// AwaitReplicated asks every other member to answer once it stores this peer's ops up to seq,
// waiting at most wait for each.
func (s *PeerService) AwaitReplicated(ctx context.Context, seq uint64, wait time.Duration) Replication {
	self := s.d.Members.Self()
	others := s.fan.others(ctx, nil)
	r := Replication{Held: 1, Peers: 1 + len(others)}
	req := &messages.AppliedRequest{Origin: self, Seq: seq, Wait: wait}
	ask(ctx, s.fan, others, req, wait+RPCTimeout, func(id peer.ID, resp *messages.AppliedResponse, err string) {
		if err == "" && resp != nil && resp.Error == "" && resp.Seq >= seq {
			r.Held++
		}
	})
	return r
}

// onApplied answers another member's AppliedRequest from the pinset actor.
func (a *rpcActor) onApplied(ctx context.Context, m *messages.AppliedRequest) *messages.AppliedResponse {
	w := a.svc.PeerService.d.Applied
	if w == nil {
		return &messages.AppliedResponse{Error: "this peer cannot tell which ops it stores"}
	}
	seq, err := w.AwaitApplied(ctx, m.Origin, m.Seq, m.Wait)
	if err != nil {
		return &messages.AppliedResponse{Seq: seq, Error: fmt.Sprintf("reading the version vector: %v", err)}
	}
	return &messages.AppliedResponse{Seq: seq}
}
