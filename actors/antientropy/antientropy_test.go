package antientropy

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/actors/root"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fake pulls by reporting on a channel and waiting for release.
type fake struct {
	mu        sync.Mutex
	connected []peer.ID
	answered  []peer.ID
	started   chan peer.ID
	release   chan struct{}
}

func (f *fake) Connected() []peer.ID { return f.connected }
func (f *fake) Allowed(id peer.ID) bool {
	return id != "untrusted"
}
func (f *fake) Answered(id peer.ID) {
	f.mu.Lock()
	f.answered = append(f.answered, id)
	f.mu.Unlock()
}
func (f *fake) Pull(ctx context.Context, from peer.ID) (int, error) {
	f.started <- from
	select {
	case <-f.release:
		return 1, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func spawn(t *testing.T, f *fake, interval time.Duration) (*actor.ActorSystem, *Scheduler) {
	t.Helper()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r, err := root.Spawn(system, root.Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Spawn(r, Deps{Interval: interval, Members: f, Puller: f}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return system, s
}

func next(t *testing.T, f *fake) peer.ID {
	t.Helper()
	select {
	case id := <-f.started:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("no pull")
		return ""
	}
}

// PullFrom pulls from the named peer; names that arrive during a pull wait, merged, in
// order; an untrusted peer is never pulled from; a peer that answered is recorded.
func TestPullFromHints(t *testing.T) {
	f := &fake{started: make(chan peer.ID, 8), release: make(chan struct{})}
	_, s := spawn(t, f, time.Hour)
	s.PullFrom("a")
	if id := next(t, f); id != "a" {
		t.Fatalf("pulled from %s, want a", id)
	}
	s.PullFrom("b")
	s.PullFrom("untrusted")
	s.PullFrom("b") // merged with the first
	s.PullFrom("c")
	f.release <- struct{}{} // a done
	if id := next(t, f); id != "b" {
		t.Fatalf("pulled from %s, want b", id)
	}
	f.release <- struct{}{}
	if id := next(t, f); id != "c" {
		t.Fatalf("pulled from %s, want c", id)
	}
	f.release <- struct{}{}
	s.PullFrom("d") // a round trip through the mailbox: every report before it is handled
	if id := next(t, f); id != "d" {
		t.Fatalf("pulled from %s, want d (b was merged, untrusted skipped)", id)
	}
	close(f.release)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Equal(f.answered[:3], []peer.ID{"a", "b", "c"}) {
		t.Fatalf("answered %v", f.answered)
	}
}

// Every interval, a pull from a connected peer.
func TestIntervalPulls(t *testing.T) {
	f := &fake{connected: []peer.ID{"x"}, started: make(chan peer.ID, 8), release: make(chan struct{})}
	close(f.release)
	spawn(t, f, 5*time.Millisecond)
	for range 3 {
		if id := next(t, f); id != "x" {
			t.Fatalf("pulled from %s", id)
		}
	}
}
