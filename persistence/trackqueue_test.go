package persistence

import (
	"context"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

func qput(s *Store, t *testing.T, max int, es ...QueueEntry) QueueResult {
	t.Helper()
	ops := make([]QueueOp, len(es))
	for i, e := range es {
		ops[i] = QueueOp{Kind: QueuePut, Entry: e}
	}
	res, err := s.WriteQueue(ops, max)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestTrackQueue: puts append in order, a put of a queued CID with the same operation keeps
// its place, another operation moves it to the tail, max refuses new CIDs only, failed
// entries leave the queue and come back with their attempts, and everything survives a
// reopen.
func TestTrackQueue(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1700000000, 0)
	a, b, c := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3)
	res := qput(s, t, 2, QueueEntry{Cid: a, Created: created}, QueueEntry{Cid: b}, QueueEntry{Cid: c}, QueueEntry{Cid: a})
	if res.Refused[0] || res.Refused[1] || !res.Refused[2] || res.Refused[3] || res.Len != 2 {
		t.Fatalf("refusals %v len %d", res.Refused, res.Len)
	}
	if res.Entries[0].Seq != 1 || res.Entries[1].Seq != 2 || res.Entries[3].Seq != 1 {
		t.Fatalf("seqs %+v", res.Entries)
	}
	res = qput(s, t, 2, QueueEntry{Cid: a, Unpin: true}) // moves to the tail
	if res.Entries[0].Seq != 3 || res.Len != 2 {
		t.Fatalf("switched op: %+v len %d", res.Entries[0], res.Len)
	}
	page, err := s.QueuePage(0, 10)
	if err != nil || len(page) != 2 || page[0].Cid.KeyString() != b.KeyString() || page[1].Cid.KeyString() != a.KeyString() || !page[1].Unpin {
		t.Fatalf("page %+v %v", page, err)
	}
	if page, _ := s.QueuePage(2, 10); len(page) != 1 || page[0].Seq != 3 {
		t.Fatalf("page after 2: %+v", page)
	}
	if _, err := s.WriteQueue([]QueueOp{{Kind: QueueFail, Entry: QueueEntry{Cid: b, Attempts: 5, Err: "no providers"}}}, 0); err != nil {
		t.Fatal(err)
	}
	if e, ok, _ := s.QueueGet(b); !ok || !e.Failed || e.Attempts != 5 || e.Err != "no providers" || s.QueueLen() != 1 {
		t.Fatalf("failed entry %+v %v len %d", e, ok, s.QueueLen())
	}
	// Reopen: counters and entries are durable.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.QueueLen() != 1 {
		t.Fatalf("len after reopen %d", s.QueueLen())
	}
	res, err = s.WriteQueue([]QueueOp{{Kind: QueueRequeueFailed}}, 0)
	if err != nil || res.Requeued != 1 || res.Len != 2 {
		t.Fatalf("requeue: %+v %v", res, err)
	}
	if e, ok, _ := s.QueueGet(b); !ok || e.Failed || e.Attempts != 5 || e.Seq != 4 {
		t.Fatalf("requeued entry %+v", e)
	}
	n := 0
	s.IterateQueue(context.Background(), func(QueueEntry) error { n++; return nil })
	if n != 2 {
		t.Fatalf("iterated %d", n)
	}
	if _, err := s.WriteQueue([]QueueOp{{Kind: QueueDel, Entry: QueueEntry{Cid: a}}, {Kind: QueueDel, Entry: QueueEntry{Cid: b}}, {Kind: QueueDel, Entry: QueueEntry{Cid: c}}}, 0); err != nil {
		t.Fatal(err)
	}
	if page, _ := s.QueuePage(0, 10); len(page) != 0 || s.QueueLen() != 0 {
		t.Fatalf("after deletes: %+v len %d", page, s.QueueLen())
	}
	if e, ok, _ := s.QueueGet(a); ok {
		t.Fatalf("deleted entry still there: %+v", e)
	}
}

func TestQueueEntryRoundTrip(t *testing.T) {
	e := QueueEntry{Seq: 9, Cid: mkCid(t, 7), Unpin: true, Mode: 1, Created: time.Unix(5, 6), Attempts: 3, Priority: true, Failed: true, Err: "boom"}
	got, err := decodeQueueEntry(encodeQueueEntry(e))
	if err != nil || got.Seq != e.Seq || got.Cid.KeyString() != e.Cid.KeyString() || got.Unpin != e.Unpin || got.Mode != e.Mode || !got.Created.Equal(e.Created) ||
		got.Attempts != e.Attempts || got.Priority != e.Priority || got.Failed != e.Failed || got.Err != e.Err {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range [][]byte{nil, {1}, make([]byte, 12)} {
		if _, err := decodeQueueEntry(bad); err == nil {
			t.Fatalf("decoded %x", bad)
		}
	}
}

// FuzzDecodeQueueEntry: any bytes (a damaged store) decode to an entry or an error, never a
// panic, and what decodes re-encodes to a value that decodes the same.
func FuzzDecodeQueueEntry(f *testing.F) {
	f.Add(encodeQueueEntry(QueueEntry{Seq: 3, Cid: mkCid(f, 1), Attempts: 2, Err: "x"}))
	f.Add([]byte{})
	f.Add(encodeBatchEntry(QueueEntry{Seq: 9, Batch: []BatchItem{{Cid: mkCid(f, 1)}, {Cid: mkCid(f, 2), Unpin: true}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeQueueEntry(b)
		if err != nil {
			return
		}
		if e.Batch != nil {
			again, err := decodeQueueEntry(encodeBatchEntry(e))
			if err != nil || again.Seq != e.Seq || len(again.Batch) != len(e.Batch) {
				t.Fatalf("re-decoded batch %+v (%v), want %+v", again, err, e)
			}
			return
		}
		again, err := decodeQueueEntry(encodeQueueEntry(e))
		if err != nil || again.Seq != e.Seq || again.Attempts != e.Attempts || again.Err != e.Err || again.Cid.KeyString() != e.Cid.KeyString() {
			t.Fatalf("re-decoded %+v (%v), want %+v", again, err, e)
		}
	})
}

// TestTrackQueueFailedCount: the count of failed entries (which lets queue writes skip looking
// for one while there are none) follows fails, re-fails, puts and settles, and is counted
// again at open; a put of a failed CID still takes its attempts while others have none.
func TestTrackQueueFailedCount(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3)
	write := func(ops ...QueueOp) {
		t.Helper()
		if _, err := s.WriteQueue(ops, 0); err != nil {
			t.Fatal(err)
		}
	}
	want := func(n int64) {
		t.Helper()
		if got := s.queueFailed.Load(); got != n {
			t.Fatalf("failed count %d, want %d", got, n)
		}
	}
	qput(s, t, 0, QueueEntry{Cid: a}, QueueEntry{Cid: b}, QueueEntry{Cid: c})
	want(0)
	write(QueueOp{Kind: QueueFail, Entry: QueueEntry{Cid: a, Attempts: 3, Err: "gave up"}},
		QueueOp{Kind: QueueFail, Entry: QueueEntry{Cid: b, Attempts: 1}},
		QueueOp{Kind: QueueFail, Entry: QueueEntry{Cid: b, Attempts: 2}}) // failing again
	want(2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want(2)
	res := qput(s, t, 0, QueueEntry{Cid: a}) // back in the queue with its attempts
	if res.Entries[0].Attempts != 3 || res.Entries[0].Err != "gave up" {
		t.Fatalf("requeued failed entry %+v, want its attempts", res.Entries[0])
	}
	want(1)
	write(QueueOp{Kind: QueueDel, Entry: QueueEntry{Cid: b}}, QueueOp{Kind: QueueDel, Entry: QueueEntry{Cid: c}})
	want(0)
	if _, ok, _ := s.QueueGet(b); ok {
		t.Fatal("the settled failed entry is still there")
	}
	d := mkCid(t, 4)
	qput(s, t, 0, QueueEntry{Cid: d})
	write(QueueOp{Kind: QueueFail, Entry: QueueEntry{Cid: d}}, QueueOp{Kind: QueueRequeueFailed})
	want(0)
	if e, ok, _ := s.QueueGet(d); !ok || e.Failed || e.Seq == 0 {
		t.Fatalf("requeued entry %+v %v", e, ok)
	}
}

func BenchmarkDecodeQueueEntry(b *testing.B) {
	c, err := api.DecodeCid("bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq")
	if err != nil {
		b.Fatal(err)
	}
	v := encodeQueueEntry(QueueEntry{Cid: c, Seq: 12345, Created: time.Now()})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeQueueEntry(v); err != nil {
			b.Fatal(err)
		}
	}
}

// TestQueueRequeueOne: recovering one failed entry moves only it back to the tail, attempts
// kept, and nothing when the copy is stale: another operation, or the CID queued again.
func TestQueueRequeueOne(t *testing.T) {
	s, _ := openTemp(t)
	a, b, c := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3)
	if _, err := s.WriteQueue([]QueueOp{
		{Kind: QueueFail, Entry: QueueEntry{Cid: a, Unpin: true, Attempts: 3, Err: "boom"}},
		{Kind: QueueFail, Entry: QueueEntry{Cid: b, Unpin: true, Attempts: 3}},
		{Kind: QueueFail, Entry: QueueEntry{Cid: c, Unpin: true, Attempts: 3}},
		{Kind: QueuePut, Entry: QueueEntry{Cid: c}}, // pinned again: its failed unpin is stale
	}, 0); err != nil {
		t.Fatal(err)
	}
	res, err := s.WriteQueue([]QueueOp{
		{Kind: QueueRequeueOne, Entry: QueueEntry{Cid: a, Unpin: true}},
		{Kind: QueueRequeueOne, Entry: QueueEntry{Cid: b}}, // not a failed pin
		{Kind: QueueRequeueOne, Entry: QueueEntry{Cid: c, Unpin: true}},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries[0].Seq == 0 || res.Entries[1].Seq != 0 || res.Entries[2].Seq != 0 || res.Len != 2 {
		t.Fatalf("requeued %+v, len %d: want only a's unpin moved", res.Entries, res.Len)
	}
	if e, ok, _ := s.QueueGet(a); !ok || e.Failed || !e.Unpin || e.Attempts != 3 || e.Err != "boom" {
		t.Fatalf("a: %+v", e)
	}
	if e, ok, _ := s.QueueGet(b); !ok || !e.Failed {
		t.Fatalf("b left the failed set: %+v", e)
	}
	if e, ok, _ := s.QueueGet(c); !ok || e.Failed || e.Unpin {
		t.Fatalf("c's queued pin changed: %+v", e)
	}
}

// TestQueueDelReportsTheRemovedSeq: QueueDel and QueueFail report the seq of the queued entry
// they removed (0: none), which a tracker page read in flight may still hold.
func TestQueueDelReportsTheRemovedSeq(t *testing.T) {
	s, _ := openTemp(t)
	a, b, c := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3)
	res, err := s.WriteQueue([]QueueOp{
		{Kind: QueuePut, Entry: QueueEntry{Cid: a}},
		{Kind: QueuePut, Entry: QueueEntry{Cid: b, Unpin: true}},
		{Kind: QueueDel, Entry: QueueEntry{Cid: a}},
		{Kind: QueueFail, Entry: QueueEntry{Cid: b, Unpin: true, Attempts: 2}},
		{Kind: QueueDel, Entry: QueueEntry{Cid: c}},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := []uint64{res.Entries[2].Seq, res.Entries[3].Seq, res.Entries[4].Seq}; got[0] != res.Entries[0].Seq || got[1] != res.Entries[1].Seq || got[2] != 0 {
		t.Fatalf("removed seqs %v, want %d, %d and 0", got, res.Entries[0].Seq, res.Entries[1].Seq)
	}
	if e, ok, _ := s.QueueGet(b); !ok || !e.Failed || e.Seq != 0 {
		t.Fatalf("failed entry %+v: stored without a seq", e)
	}
}
