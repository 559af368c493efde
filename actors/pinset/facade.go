package pinset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// ErrStopped is returned once the pinset actor has stopped.
var ErrStopped = errors.New("pinset stopped")

// defaultCommitTimeout bounds a commit when ctx has no deadline.
const defaultCommitTimeout = time.Minute

// Pinset is the typed facade of the pinset actor.
type Pinset struct {
	system *actor.ActorSystem
	pid    *actor.PID
	writes interface{ Wait() }
	seal   *atomic.Pointer[error] // seal.go
}

// Spawn starts the pinset actor. Every subscriber PID (the tracker, the batcher) is sent a
// messages.PinsetChanged after each write that changed the pinset (see Subscribe).
func Spawn(parent root.Parent, self peer.ID, store Store, clock *crdt.Clock, subscribers []*actor.PID, log *slog.Logger) (*Pinset, error) {
	if log == nil {
		log = slog.Default()
	}
	a, err := newActor(self, store, clock, subscribers, log)
	if err != nil {
		return nil, err
	}
	seal := &atomic.Pointer[error]{}
	a.seal.flag = seal
	// A restart (a panic) gets a fresh instance that re-reads its numbering from the store,
	// once the crashed instance's write in flight has ended (else it could reuse its seqs);
	// the subscribers are configuration and carry over.
	first := true
	props := actor.PropsFromProducer(func() actor.Actor {
		if first {
			first = false
			return a
		}
		subs := a.subs
		a.writes.Wait()
		fresh, err := newActor(self, store, clock, subs, log)
		if err != nil {
			panic(fmt.Sprintf("pinset: restarting: %v", err)) // supervision retries
		}
		fresh.writes = a.writes
		fresh.seal.flag = seal
		a = fresh
		return fresh
	})
	pid, err := parent.SpawnNamed(props, "pinset")
	if err != nil {
		return nil, fmt.Errorf("pinset: spawn: %w", err)
	}
	return &Pinset{system: parent.ActorSystem(), pid: pid, writes: a.writes, seal: seal}, nil
}

// Subscribe adds pid to the subscribers of PinsetChanged (see the Subscribe message).
func (p *Pinset) Subscribe(pid *actor.PID) {
	p.system.Root.Send(p.pid, Subscribe{PID: pid})
}

// Commit makes changes durable and returns their ops. When it returns nil the changes survive a
// crash of this process (and power loss with sync_writes).
func (p *Pinset) Commit(ctx context.Context, changes ...messages.Change) ([]crdt.Op, error) {
	timeout := defaultCommitTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
		if timeout <= 0 {
			return nil, fmt.Errorf("pinset commit: %w", api.ErrTimeout)
		}
	}
	for i := range changes {
		if changes[i].Kind == crdt.OpPin && len(changes[i].PinJSON) == 0 {
			b, err := api.MarshalPin(&changes[i].Pin)
			if err != nil {
				return nil, fmt.Errorf("pinset: encoding pin %s: %w", changes[i].Pin.Cid, err)
			}
			changes[i].PinJSON = b
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		ops, err := p.commitOnce(ctx, changes, time.Until(deadline))
		// The actor restarted before answering: a fresh instance numbers the changes again.
		if errors.Is(err, errRestarted) && time.Until(deadline) > 0 && ctx.Err() == nil {
			continue
		}
		return ops, err
	}
}

func (p *Pinset) commitOnce(ctx context.Context, changes []messages.Change, timeout time.Duration) ([]crdt.Op, error) {
	res, err := ask.Request(ctx, p.system, p.pid, &messages.CommitChanges{Changes: changes}, timeout)
	switch {
	case errors.Is(err, actor.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("pinset commit did not finish in %s: %w", timeout, api.ErrTimeout)
	case errors.Is(err, actor.ErrDeadLetter):
		return nil, ErrStopped
	case err != nil:
		return nil, err
	}
	reply, ok := res.(*messages.ChangesCommitted)
	if !ok {
		return nil, fmt.Errorf("pinset: unexpected reply %T", res)
	}
	return reply.Ops, reply.Err
}

// ApplyRemoteWait merges ops from other peers and returns once they are durable.
func (p *Pinset) ApplyRemoteWait(ctx context.Context, ops []crdt.Op) error {
	timeout := defaultCommitTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	res, err := ask.Request(ctx, p.system, p.pid, &messages.ApplyRemoteOps{Ops: ops}, timeout)
	if err != nil {
		return fmt.Errorf("pinset apply: %w", err)
	}
	if reply, ok := res.(*messages.ChangesCommitted); ok {
		return reply.Err
	}
	return fmt.Errorf("pinset: unexpected reply %T", res)
}

// ApplyRemote queues ops from other peers for merging; it does not wait.
func (p *Pinset) ApplyRemote(ops []crdt.Op) {
	if len(ops) > 0 {
		p.system.Root.Send(p.pid, &messages.ApplyRemoteOps{Ops: ops})
	}
}

// Stop stops the actor after the messages already queued and waits for the write in flight,
// so the store can be closed afterwards.
func (p *Pinset) Stop() {
	_ = p.system.Root.PoisonFuture(p.pid).Wait()
	p.writes.Wait()
}
