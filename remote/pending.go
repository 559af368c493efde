package remote

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
)

// pendingReq is a request sent to a peer whose reply has not come back yet. It lets a lost
// connection fail the request at once instead of after its timeout.
type pendingReq struct {
	ep     *endpoint
	sender *actor.PID
	at     time.Time
}

type pendingTable struct {
	mu sync.Mutex
	m  map[uint32]pendingReq
}

func (t *pendingTable) add(id uint32, p pendingReq) {
	t.mu.Lock()
	t.m[id] = p
	t.mu.Unlock()
}

// answered forgets request id once a reply from peer from arrives.
func (t *pendingTable) answered(id uint32, from peer.ID) {
	t.mu.Lock()
	if p, ok := t.m[id]; ok && p.ep.peer == from {
		delete(t.m, id)
	}
	t.mu.Unlock()
}

// takeEndpoint removes and returns the requests sent through ep.
func (t *pendingTable) takeEndpoint(ep *endpoint) []pendingReq {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []pendingReq
	for id, p := range t.m {
		if p.ep == ep {
			out = append(out, p)
			delete(t.m, id)
		}
	}
	return out
}

// expire forgets requests sent before cutoff.
func (t *pendingTable) expire(cutoff time.Time) {
	t.mu.Lock()
	for id, p := range t.m {
		if p.at.Before(cutoff) {
			delete(t.m, id)
		}
	}
	t.mu.Unlock()
}

// drop removes request id if it is still pending on ep, reporting whether it was.
func (t *pendingTable) drop(id uint32, ep *endpoint) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.m[id]; ok && p.ep == ep {
		delete(t.m, id)
		return true
	}
	return false
}
