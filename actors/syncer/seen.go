package syncer

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
)

// SeenVV is a peer's version vector as it last reported it, and when: tombstone collection
// needs a recent one from every peer.
type SeenVV struct {
	VV map[peer.ID]uint64
	At time.Time
}

// The table of version vectors seen is the syncer actor's state (no lock): pulls report what
// each responder said by message, and readers ask the actor for a copy. A restarted actor
// starts with an empty table, which only makes the next collection refresh every member first.

// vvSeen records the version vector a responder reported.
type vvSeen struct {
	from peer.ID
	sv   SeenVV
}

// seenRequest asks for a copy of the table. Reply: *seenResponse.
type seenRequest struct{}

type seenResponse struct {
	seen map[peer.ID]SeenVV
}

// forgetSeen drops a peer's entry.
type forgetSeen struct {
	id peer.ID
}

func (a *syncerActor) onVVSeen(m *vvSeen) {
	a.seen[m.from] = m.sv
	delete(a.sums, m.from)
}

func (a *syncerActor) onSeenRequest(ctx actor.Context) {
	out := make(map[peer.ID]SeenVV, len(a.seen))
	for id, sv := range a.seen {
		out[id] = SeenVV{VV: maps.Clone(sv.VV), At: sv.At}
	}
	ctx.Respond(&seenResponse{seen: out})
}

func (a *syncerActor) onForgetSeen(m *forgetSeen) {
	delete(a.seen, m.id)
	delete(a.sums, m.id)
}

// noteVV records the version vector a responder reported. Messages from one goroutine reach
// the actor in order, so a SeenVVs after a Pull sees what that Pull recorded.
func (s *Syncer) noteVV(from peer.ID, vv map[peer.ID]uint64) {
	s.system.Root.Send(s.pid, &vvSeen{from: from, sv: SeenVV{VV: vv, At: time.Now()}})
}

// seenTimeout bounds SeenVVs when ctx has no deadline (the actor answers from memory).
const seenTimeout = 10 * time.Second

// SeenVVs returns a copy of the latest version vector seen from each peer: a responder of a
// pull (a peer we dialled, authenticated by libp2p), or a peer whose announcement brought the
// copy current (the author of a signed pubsub message; announced.go).
func (s *Syncer) SeenVVs(ctx context.Context) (map[peer.ID]SeenVV, error) {
	res, err := ask.Request(ctx, s.system, s.pid, &seenRequest{}, seenTimeout)
	if err != nil {
		return nil, fmt.Errorf("syncer: version vectors seen: %w", err)
	}
	r, ok := res.(*seenResponse)
	if !ok {
		return nil, fmt.Errorf("syncer: unexpected reply %T", res)
	}
	return r.seen, nil
}

// Forget drops what was seen from a peer (removed from the cluster).
func (s *Syncer) Forget(id peer.ID) {
	s.system.Root.Send(s.pid, &forgetSeen{id: id})
}
