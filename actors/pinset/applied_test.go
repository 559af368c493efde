package pinset

import (
	"context"
	"testing"
	"time"

	"github.com/pincluster/pincluster/crdt"
)

// AwaitApplied answers at once when the ops are stored, when a later write stores them, or at
// its deadline with what is stored then.
func TestAwaitApplied(t *testing.T) {
	store := &memStore{}
	p, _ := spawn(t, store)
	origin := testPeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	remote := func(from, to int) []crdt.Op {
		var ops []crdt.Op
		for i := from; i <= to; i++ {
			pin := testPin(i)
			ops = append(ops, crdt.Op{Origin: origin, Seq: uint64(i), Clock: crdt.HLC(i), Kind: crdt.OpPin, Cid: pin.Cid, PinJSON: []byte(`{}`)})
		}
		return ops
	}
	if got, err := p.AwaitApplied(ctx, origin, 0, time.Second); err != nil || got != 0 {
		t.Fatalf("nothing asked: %d %v", got, err)
	}
	type result struct {
		seq uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		seq, err := p.AwaitApplied(ctx, origin, 5, 5*time.Second)
		done <- result{seq, err}
	}()
	if err := p.ApplyRemoteWait(ctx, remote(1, 3)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		t.Fatalf("answered with %d stored of 5: %+v", 3, r)
	case <-time.After(50 * time.Millisecond):
	}
	if err := p.ApplyRemoteWait(ctx, remote(4, 6)); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || r.seq != 6 {
		t.Fatalf("after the write: %+v, want 6", r)
	}
	start := time.Now()
	got, err := p.AwaitApplied(ctx, origin, 100, 100*time.Millisecond)
	if err != nil || got != 6 || time.Since(start) > 4*time.Second {
		t.Fatalf("past the deadline: %d %v after %s, want 6 at the deadline", got, err, time.Since(start))
	}
}
