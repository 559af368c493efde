package pinset

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// With the real store on a disk that fails its writes, pins are refused with an
// insufficient-storage error (507), nothing refused is stored or announced, and once the disk
// takes writes again the next pins are stored, numbered right after the last stored one.
func TestDiskFullRefusesPinsThenRecovers(t *testing.T) {
	var full atomic.Bool
	store, err := persistence.Open(persistence.Options{Dir: t.TempDir(), WriteFault: func() error {
		if full.Load() {
			return syscall.ENOSPC
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var mu sync.Mutex
	announced := map[string]bool{}
	self := testPeer(t)
	sys := actor.NewActorSystem()
	subs := subscriber(t, sys, func(ev messages.PinsetChanged) {
		mu.Lock()
		defer mu.Unlock()
		for _, op := range ev.Ops {
			announced[op.Cid.String()] = true
		}
	})
	p, err := Spawn(sys.Root, self, store, crdt.NewClock(nil), subs, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pin := func(i int) error {
		_, err := p.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: testPin(i)})
		return err
	}

	if err := pin(1); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs { // one group commit or several: all refused
		wg.Go(func() { errs[i] = pin(10 + i) })
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, api.ErrInsufficientStorage) || api.HTTPStatus(err) != http.StatusInsufficientStorage {
			t.Fatalf("pin %d on a full disk: %v (HTTP %d), want 507", 10+i, err, api.HTTPStatus(err))
		}
		if _, ok, _ := store.GetPin(testPin(10 + i).Cid); ok {
			t.Fatalf("refused pin %d is stored", 10+i)
		}
	}
	settle(t, sys, subs)
	mu.Lock()
	for i := range errs {
		if announced[testPin(10+i).Cid.String()] {
			t.Fatalf("refused pin %d was announced", 10+i)
		}
	}
	mu.Unlock()
	if n, err := store.CountPins(); err != nil || n != 1 {
		t.Fatalf("reads on a full disk: %d pins, %v", n, err)
	}

	full.Store(false)
	if err := pin(2); err != nil {
		t.Fatalf("first pin after the disk recovered: %v", err)
	}
	if vv, _ := store.VersionVector(); vv[self] != 2 {
		t.Fatalf("version vector %d after a refused burst, want 2 (no gap, no reuse)", vv[self])
	}
	if n, _ := store.CountPins(); n != 2 {
		t.Fatalf("%d pins, want 2", n)
	}
}
