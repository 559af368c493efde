package remote

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
)

// pendingTable counts, per peer and local sender, the requests sent whose reply has not come
// back, so a lost connection fails them at once instead of after their timeout. Replies are
// matched by (peer, sender) only, which is exact for futures (one request each) and an
// approximation for actors with several requests in flight; an entry left behind by a target
// that never answered is forgotten by expire.
type pendingTable struct {
	mu sync.Mutex
	m  map[pendingKey]*pendingReq
}

type pendingKey struct {
	peer   peer.ID
	sender string // local actor id
}

type pendingReq struct {
	ep     *endpoint // the endpoint that carried the latest request
	sender *actor.PID
	n      int
	at     time.Time
}

// add counts a request from sender to ep's peer.
func (t *pendingTable) add(ep *endpoint, sender *actor.PID) {
	k := pendingKey{ep.peer, sender.Id}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[pendingKey]*pendingReq{}
	}
	p := t.m[k]
	if p == nil {
		p = &pendingReq{sender: sender}
		t.m[k] = p
	}
	p.ep, p.n, p.at = ep, p.n+1, time.Now()
}

// answered counts a message from peer from to a local actor as the reply to one request. It
// reports whether such a request was outstanding: only then is the message a reply.
func (t *pendingTable) answered(from peer.ID, target string) bool {
	k := pendingKey{from, target}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.m[k]
	if p == nil {
		return false
	}
	if p.n--; p.n <= 0 {
		delete(t.m, k)
	}
	return true
}

// undo removes a request that add counted on ep and that never reached it; false if ep's
// death already failed it.
func (t *pendingTable) undo(ep *endpoint, sender *actor.PID) bool {
	k := pendingKey{ep.peer, sender.Id}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.m[k]
	if p == nil || p.ep != ep {
		return false
	}
	if p.n--; p.n <= 0 {
		delete(t.m, k)
	}
	return true
}

// takeEndpoint removes and returns the requests last sent through ep.
func (t *pendingTable) takeEndpoint(ep *endpoint) []pendingReq {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []pendingReq
	for k, p := range t.m {
		if p.ep == ep {
			out = append(out, *p)
			delete(t.m, k)
		}
	}
	return out
}

// expire forgets requests last sent before cutoff.
func (t *pendingTable) expire(cutoff time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, p := range t.m {
		if p.at.Before(cutoff) {
			delete(t.m, k)
		}
	}
}

func (t *pendingTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range t.m {
		n += p.n
	}
	return n
}
