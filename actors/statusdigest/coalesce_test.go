package statusdigest

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/internal/testpeer"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// blockingReplicas holds the applier in its first apply until released, and records every
// run it is given.
type blockingReplicas struct {
	*memStore
	entered, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	runs             []sd.Run
}

func (b *blockingReplicas) ApplyDeltas(_ peer.ID, r *sd.Run, _ time.Time) (sd.Meta, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	b.runs = append(b.runs, sd.Run{Epoch: r.Epoch, Seqs: slices.Clone(r.Seqs), Entries: slices.Clone(r.Entries)})
	last := slices.Max(r.Seqs)
	return sd.Meta{Epoch: r.Epoch, Contiguous: last, Heard: last}, nil
}

func (b *blockingReplicas) ApplyDigest(_ peer.ID, d sd.Digest, _ time.Time) (sd.Meta, error) {
	return sd.Meta{Epoch: d.Epoch, Contiguous: d.Seq, Heard: d.Seq}, nil
}

func (b *blockingReplicas) applied() []sd.Run {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.runs)
}

// TestDeltasWaitingCoalesce: while the applier is busy, a peer's deltas wait as one run, one
// entry per CID (its latest status), and are applied together with every seq; another peer's
// deltas make their own run.
func TestDeltasWaitingCoalesce(t *testing.T) {
	store := &blockingReplicas{memStore: newMemStore(), entered: make(chan struct{}), release: make(chan struct{})}
	system, pid := spawnLogged(t, Deps{Store: store, Topic: topicFunc(func([]byte) {}), Local: localPass{}, Config: Default(), Members: everyone{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a, b := testpeer.ID(t, 2), testpeer.ID(t, 3)
	delta := func(seq uint64, st api.TrackerStatus, cids ...string) sd.Digest {
		d := sd.Digest{Epoch: 1, Seq: seq}
		for _, c := range cids {
			d.Entries = append(d.Entries, sd.Entry{Cid: []byte(c), Status: st, Seq: seq})
		}
		return d
	}
	system.Root.Send(pid, received{from: a, d: delta(1, api.TrackerStatusPinning, "x")})
	select {
	case <-store.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the applier did not start")
	}
	system.Root.Send(pid, received{from: a, d: delta(2, api.TrackerStatusPinning, "y", "z")})
	system.Root.Send(pid, received{from: b, d: delta(1, api.TrackerStatusPinning, "y")})
	system.Root.Send(pid, received{from: a, d: delta(4, api.TrackerStatusPinned, "y")})
	system.Root.Send(pid, received{from: a, d: delta(3, api.TrackerStatusPinError, "y", "x")}) // late
	system.Root.Send(pid, received{from: b, d: sd.Digest{Epoch: 1, Seq: 1, Heartbeat: true}})
	// The applier's report comes after these in the actor's mailbox: they are all queued
	// before it takes its next batch.
	close(store.release)
	var runs []sd.Run
	poll.Until(10*time.Second, time.Millisecond, func() bool { runs = store.applied(); return len(runs) >= 3 })
	if len(runs) != 3 {
		t.Fatalf("%d runs applied, want 3 (the first delta, then a's and b's runs): %+v", len(runs), runs)
	}
	ra := runs[1]
	if !slices.Equal(ra.Seqs, []uint64{2, 4, 3}) {
		t.Fatalf("a's run has seqs %v, want 2, 4, 3", ra.Seqs)
	}
	got := map[string]api.TrackerStatus{}
	for _, e := range ra.Entries {
		got[string(e.Cid)] = e.Status
	}
	want := map[string]api.TrackerStatus{"x": api.TrackerStatusPinError, "y": api.TrackerStatusPinned, "z": api.TrackerStatusPinning}
	if len(ra.Entries) != len(want) {
		t.Fatalf("a's run has %d entries, want one per CID: %+v", len(ra.Entries), ra.Entries)
	}
	for c, st := range want {
		if got[c] != st {
			t.Fatalf("a's run: %s is %s, want %s", c, got[c], st)
		}
	}
	if rb := runs[2]; !slices.Equal(rb.Seqs, []uint64{1}) || len(rb.Entries) != 1 {
		t.Fatalf("b's run: %+v", rb)
	}
}

// TestEnqueueCountsRunsEntries: the queue counts a run's entries once per CID, a delta of
// another epoch starts a run of its own, a heartbeat is an item of no entries, and a delta
// that would take the entries past the bound is refused, joining a run or not.
func TestEnqueueCountsRunsEntries(t *testing.T) {
	r := newReplicas(Default())
	a, b := testpeer.ID(t, 2), testpeer.ID(t, 3)
	d := func(epoch, seq uint64, n int, prefix string) sd.Digest {
		dg := sd.Digest{Epoch: epoch, Seq: seq}
		for i := range n {
			dg.Entries = append(dg.Entries, sd.Entry{Cid: fmt.Appendf(nil, "%s%d", prefix, i), Status: api.TrackerStatusPinned, Seq: seq})
		}
		return dg
	}
	for _, m := range []received{
		{from: a, d: d(1, 1, 10, "x")},
		{from: a, d: d(1, 2, 10, "x")}, // the same CIDs: nothing more
		{from: a, d: d(1, 3, 5, "y")},
		{from: b, d: d(1, 1, 3, "x")},
		{from: a, d: sd.Digest{Epoch: 1, Seq: 3, Heartbeat: true}},
		{from: a, d: d(2, 1, 4, "x")}, // a new epoch: a run of its own, which a's next deltas join
		{from: a, d: d(2, 2, 4, "z")},
	} {
		if !r.enqueue(m) {
			t.Fatalf("refused %+v", m.d)
		}
	}
	if len(r.queue) != 4 || r.queued != 10+5+3+4+4 {
		t.Fatalf("%d items and %d entries queued, want 4 and 26", len(r.queue), r.queued)
	}
	if run := r.queue[3].run; run == nil || run.Epoch != 2 || !slices.Equal(run.Seqs, []uint64{1, 2}) {
		t.Fatalf("the new epoch's run: %+v", r.queue[3])
	}
	if r.queue[0].run.Epoch != 1 || !slices.Equal(r.queue[0].run.Seqs, []uint64{1, 2, 3}) {
		t.Fatalf("the first run: %+v", r.queue[0].run.Seqs)
	}
	r.queued = maxQueuedEntries - 2
	if r.enqueue(received{from: a, d: d(2, 3, 3, "w")}) || r.enqueue(received{from: b, d: d(1, 2, 3, "v")}) {
		t.Fatal("a delta past the bound was taken")
	}
	if !r.enqueue(received{from: a, d: d(2, 4, 4, "z")}) { // nothing new: it fits
		t.Fatal("a delta of known CIDs was refused at the bound")
	}
}
