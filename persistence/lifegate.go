package persistence

import (
	"fmt"
	"sync"
	"time"

	"github.com/pincluster/pincluster/api"
)

// The store's life gate: Close closes Badger only once no call is using it.
//
// Why: readers run on goroutines that stop on their context's cancellation, and nothing
// waits for them (syncer answers, the healer's state sync, anti-entropy, the informer,
// tokens, status digests). Badger is not safe to use across its Close: Txn.NewIterator
// panics with ErrDBClosed once closing has started, and closing unmaps the .sst tables under
// an open iterator (SIGSEGV). A daemon stopped by SIGTERM then exited with a panic. So every
// exported method that reaches Badger enters the gate first and leaves when done, and Close
// shuts the gate, waits for the holders to leave, and only then closes Badger.
//
// A counter, not an RWMutex: a method holding the gate may call another that enters it
// again, and a nested RLock behind a waiting Lock deadlocks. Here a nested enter after
// closing began simply fails with ErrClosed, and the outer call returns that error.

// ErrClosed: the store is closing or closed (the peer is shutting down). It wraps
// api.ErrUnavailable (503: try again later).
var ErrClosed = fmt.Errorf("%w: the pinset store is closed", api.ErrUnavailable)

// closeTimeout bounds how long Close waits for the calls in flight; a variable so that tests
// can shorten it.
var closeTimeout = 30 * time.Second

type lifeGate struct {
	mu      sync.Mutex
	holders int
	closing bool
	idle    chan struct{} // made by close; closed once closing and no holder is left
}

// enter admits a caller; false once closing has started. Each true is paired with a leave.
func (g *lifeGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.holders++
	return true
}

// leave releases what enter admitted.
func (g *lifeGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.holders--
	if g.closing && g.holders == 0 {
		close(g.idle)
	}
}

// close refuses every enter from now on and waits, up to timeout, for the holders to leave.
// It returns how many are still in (0: nothing uses Badger any more); first is false when an
// earlier close began it, and then it returns at once.
func (g *lifeGate) close(timeout time.Duration) (left int, first bool) {
	g.mu.Lock()
	if g.closing {
		g.mu.Unlock()
		return 0, false
	}
	g.closing = true
	g.idle = make(chan struct{})
	if g.holders == 0 {
		close(g.idle)
	}
	idle := g.idle
	g.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
		return 0, true
	case <-t.C:
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.holders, true
}

// enter admits a call into Badger, or returns ErrClosed; on nil the caller defers s.leave().
func (s *Store) enter() error {
	if !s.gate.enter() {
		return ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.gate.leave() }
