package statusdigest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// ownStore is a Store holding an own digest in CID order; it records what WriteOwnDigest is
// offered. Only the methods reconcile uses are implemented.
type ownStore struct {
	Store
	own     []sd.Entry
	offered []sd.Entry
}

func (s *ownStore) OwnDigestPage(after []byte, limit int) (sd.Page, error) {
	var pg sd.Page
	for _, e := range s.own {
		if after != nil && bytes.Compare(e.Cid, after) <= 0 {
			continue
		}
		if len(pg.Entries) == limit {
			pg.More = true
			break
		}
		pg.Entries = append(pg.Entries, e)
	}
	return pg, nil
}

func (s *ownStore) WriteOwnDigest(changes []sd.Entry, _ time.Time) (sd.Digest, error) {
	s.offered = append(s.offered, changes...)
	return sd.Digest{}, nil // nothing written: nothing to publish
}

// direct writes a reconcile's batches straight to deps' store, as the actor's writer does.
func direct(ctx context.Context, deps Deps) writeOwn {
	return func(batch []sd.Entry, since time.Time) (uint64, error) {
		seq, _, err := storeAndPublish(ctx, deps, batch, since)
		return seq, err
	}
}

// localPass is a Local with a fixed pass.
type localPass []struct {
	cid []byte
	st  api.PinInfoShort
}

func (l localPass) LocalDigest(_ context.Context, fn func([]byte, api.PinInfoShort) error) error {
	for _, p := range l {
		if err := fn(p.cid, p.st); err != nil {
			return err
		}
	}
	return nil
}

// TestReconcileLeavesQueuedPinsWithoutEntry: a pin_queued pin with no own entry is what the
// digest already shows, so the reconcile offers nothing for it (at 10M queued pins it offered
// all of them, and WriteOwnDigest looked each up to drop it); a pin_queued pin whose entry
// says otherwise, a new status and an entry whose pin is gone are offered.
func TestReconcileLeavesQueuedPinsWithoutEntry(t *testing.T) {
	queued := api.PinInfoShort{Status: api.TrackerStatusPinQueued}
	pinned := api.PinInfoShort{Status: api.TrackerStatusPinned, TS: time.Now()}
	store := &ownStore{own: []sd.Entry{
		{Cid: []byte("b"), Status: api.TrackerStatusPinned},
		{Cid: []byte("d"), Status: api.TrackerStatusPinned}, // its pin is gone
	}}
	pass := localPass{
		{[]byte("a"), queued}, // no entry: shown as pin_queued already
		{[]byte("b"), queued}, // the entry says pinned
		{[]byte("c"), pinned}, // no entry: new
		{[]byte("e"), queued}, // no entry
	}
	deps := Deps{Store: store, Local: pass}
	if _, err := reconcile(t.Context(), deps, slog.New(slog.NewTextHandler(io.Discard, nil)), direct(t.Context(), deps)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range store.offered {
		st := "tombstone"
		if !e.Deleted() {
			st = e.Status.String()
		}
		got = append(got, string(e.Cid)+":"+st)
	}
	if want := []string{"b:pin_queued", "c:pinned", "d:tombstone"}; !slices.Equal(got, want) {
		t.Fatalf("offered %v, want %v", got, want)
	}
}

// TestReconcileEveryFewResyncs: after the reconcile at start, a Resync tick reconciles again
// every reconcileEvery-th tick, or at once when the tracker queued operations without telling
// their change, when the last reconcile did not settle everything, or when changes were
// dropped.
func TestReconcileEveryFewResyncs(t *testing.T) {
	var unnoted uint64
	a := newActor(Deps{Config: Default(), Unnoted: func() uint64 { return unnoted }}, nil)
	a.reconcileStarted() // at start
	run := func(ticks int) (due []int) {
		for tick := 1; tick <= ticks; tick++ {
			if a.resyncTick() {
				due = append(due, tick)
				a.reconcileStarted()
			}
		}
		return due
	}
	if got, want := run(3*reconcileEvery), []int{reconcileEvery, 2 * reconcileEvery, 3 * reconcileEvery}; !slices.Equal(got, want) {
		t.Fatalf("quiet: reconciles at ticks %v, want %v", got, want)
	}
	unnoted = 5 // a batch queued beyond the window
	if got := run(2); !slices.Equal(got, []int{1}) {
		t.Fatalf("after unnoted operations: reconciles at ticks %v, want [1]", got)
	}
	a.again = true // the IPFS node did not answer during the last one
	if got := run(2); !slices.Equal(got, []int{1}) {
		t.Fatalf("after an unsettled reconcile: reconciles at ticks %v, want [1]", got)
	}
	a.dropped = true // changes dropped, and the buffer never empty since
	if got := run(2); !slices.Equal(got, []int{1}) {
		t.Fatalf("after dropped changes: reconciles at ticks %v, want [1]", got)
	}
}

// TestReconcileCountsWhatItKept: pins the IPFS node did not answer for are kept as they were
// and counted, so that the next tick reconciles again.
func TestReconcileCountsWhatItKept(t *testing.T) {
	store := &ownStore{own: []sd.Entry{{Cid: []byte("a"), Status: api.TrackerStatusPinned}}}
	pass := localPass{
		{[]byte("a"), api.PinInfoShort{Status: api.TrackerStatusClusterError}},
		{[]byte("b"), api.PinInfoShort{Status: api.TrackerStatusClusterError}},
	}
	deps := Deps{Store: store, Local: pass}
	kept, err := reconcile(t.Context(), deps, slog.New(slog.NewTextHandler(io.Discard, nil)), direct(t.Context(), deps))
	if err != nil || kept != 2 || len(store.offered) != 0 {
		t.Fatalf("kept %d (%v), offered %v; want 2 kept and nothing offered", kept, err, store.offered)
	}
}
