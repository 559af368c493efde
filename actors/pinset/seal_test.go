package pinset

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/messages"
)

// Seal waits for the local commit being written, answers with its seq, and every local commit
// after it is refused as unavailable; a restarted actor keeps refusing.
func TestSealWaitsForCommitsAndRefusesLaterOnes(t *testing.T) {
	store := &memStore{block: make(chan struct{})}
	sys := actor.NewActorSystem()
	p, _ := spawnIn(t, sys, store, nil)
	first := make(chan error, 1)
	go func() {
		_, err := p.Commit(context.Background(), messages.Change{Kind: crdt.OpPin, Pin: testPin(1)})
		first <- err
	}()
	time.Sleep(200 * time.Millisecond) // the first commit is being written (Apply blocks)
	type result struct {
		seq uint64
		err error
	}
	sealedAt := make(chan result, 1)
	go func() {
		seq, err := p.Seal(context.Background(), "this peer is leaving the cluster")
		sealedAt <- result{seq, err}
	}()
	time.Sleep(200 * time.Millisecond)
	select {
	case r := <-sealedAt:
		t.Fatalf("Seal returned %+v while a commit taken before it was still being written", r)
	default:
	}
	if _, err := p.Commit(context.Background(), messages.Change{Kind: crdt.OpPin, Pin: testPin(2)}); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("a commit after the seal: %v, want unavailable", err)
	}
	close(store.block)
	if err := <-first; err != nil {
		t.Fatalf("the commit taken before the seal: %v", err)
	}
	if r := <-sealedAt; r.err != nil || r.seq != 1 {
		t.Fatalf("Seal: %+v, want seq 1", r)
	}
	// A second Seal answers at once; a fresh instance after a crash still refuses.
	if seq, err := p.Seal(context.Background(), "again"); err != nil || seq != 1 {
		t.Fatalf("second Seal: %d %v", seq, err)
	}
	started := crashOnRequest(t)
	sys.Root.Send(p.pid, crashNow{})
	if !poll.Until(10*time.Second, time.Millisecond, func() bool { return started.Load() == 1 }) {
		t.Fatal("not restarted")
	}
	if _, err := p.Commit(context.Background(), messages.Change{Kind: crdt.OpPin, Pin: testPin(3)}); !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("a commit after a restart of the sealed actor: %v, want unavailable", err)
	}
}
