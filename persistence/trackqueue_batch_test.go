package persistence

import (
	"context"
	"testing"
)

// TestQueueBatchEntries: a batch entry counts its CIDs in QueueLen and QueueBatched, is cut
// to what fits under max, pages in with each CID's current pin record (live: its JSON;
// unpinned or unknown: none), streams as one entry per CID, and its delete takes its count
// back; the counters survive a reopen.
func TestQueueBatchEntries(t *testing.T) {
	s, dir := openTemp(t)
	p := newPeer(t, 1)
	live, gone, unknown, single := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3), mkCid(t, 4)
	mustApply(t, s, pinOp(t, p, 1, 1, live, "live"), pinOp(t, p, 2, 2, gone, "gone"), unpinOp(p, 3, 3, gone))
	res, err := s.WriteQueue([]QueueOp{
		{Kind: QueuePut, Entry: QueueEntry{Cid: single}},
		{Kind: QueuePutBatch, Entry: QueueEntry{Batch: []BatchItem{{Cid: live}, {Cid: gone, Unpin: true}, {Cid: unknown}}}},
		{Kind: QueuePutBatch, Entry: QueueEntry{Batch: []BatchItem{{Cid: mkCid(t, 5)}, {Cid: mkCid(t, 6)}}}},
	}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if res.Refused[1] || !res.Refused[2] || len(res.Entries[2].Batch) != 1 {
		t.Fatalf("refused %v, second batch stored %d CIDs: want the first whole and one of the second (max 5)", res.Refused, len(res.Entries[2].Batch))
	}
	if s.QueueLen() != 5 || s.QueueBatched() != 4 {
		t.Fatalf("len %d batched %d, want 5 and 4", s.QueueLen(), s.QueueBatched())
	}
	page, err := s.QueuePage(0, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The batch is over the limit once the single entry is in: not returned.
	if len(page) != 1 || page[0].Batch != nil {
		t.Fatalf("page of 2: %+v", page)
	}
	page, err = s.QueuePage(page[0].Seq, 2) // alone, a batch comes whole even over the limit
	if err != nil || len(page) != 1 || len(page[0].Batch) != 3 {
		t.Fatalf("page after the single entry: %+v, %v", page, err)
	}
	b := page[0].Batch
	if b[0].PinJSON == nil || b[1].PinJSON != nil || b[2].PinJSON != nil || !b[1].Unpin {
		t.Fatalf("records: live %q gone %q unknown %q", b[0].PinJSON, b[1].PinJSON, b[2].PinJSON)
	}
	n := 0
	if err := s.IterateQueue(context.Background(), func(e QueueEntry) error {
		if e.Batch != nil || !e.Cid.Defined() {
			t.Fatalf("streamed %+v", e)
		}
		n++
		return nil
	}); err != nil || n != 5 {
		t.Fatalf("streamed %d entries (%v), want 5", n, err)
	}
	if _, err := s.WriteQueue([]QueueOp{{Kind: QueueDelBatch, Entry: QueueEntry{Seq: page[0].Seq}}}, 0); err != nil {
		t.Fatal(err)
	}
	if s.QueueLen() != 2 || s.QueueBatched() != 1 {
		t.Fatalf("after the delete: len %d batched %d, want 2 and 1", s.QueueLen(), s.QueueBatched())
	}
	s = reopen(t, s, dir)
	if s.QueueLen() != 2 || s.QueueBatched() != 1 {
		t.Fatalf("reopened: len %d batched %d, want 2 and 1", s.QueueLen(), s.QueueBatched())
	}
}

// TestDecodeBatchEntryRoundTrip: a batch entry decodes to what was encoded; damaged ones are
// refused.
func TestDecodeBatchEntryRoundTrip(t *testing.T) {
	e := QueueEntry{Seq: 77, Batch: []BatchItem{{Cid: mkCid(t, 1), Created: true}, {Cid: mkCid(t, 2), Unpin: true}}}
	v := encodeBatchEntry(e)
	got, err := decodeQueueEntry(v)
	if err != nil || got.Seq != 77 || len(got.Batch) != 2 || !got.Batch[1].Unpin || got.Batch[0].Unpin ||
		!got.Batch[0].Created || got.Batch[1].Created || got.Batch[1].Cid.KeyString() != e.Batch[1].Cid.KeyString() {
		t.Fatalf("decoded %+v, %v", got, err)
	}
	for _, bad := range [][]byte{v[:len(v)-1], append(append([]byte(nil), v...), 0), {flagBatch}, {flagBatch, 1, 200}} {
		if _, err := decodeQueueEntry(bad); err == nil {
			t.Fatalf("decoded %x", bad)
		}
	}
}

// A full queue refuses pins, single or in a batch, but takes every unpin.
func TestFullQueueTakesUnpins(t *testing.T) {
	s, _ := openTemp(t)
	a, b, c, d, e := mkCid(t, 1), mkCid(t, 2), mkCid(t, 3), mkCid(t, 4), mkCid(t, 5)
	res, err := s.WriteQueue([]QueueOp{
		{Kind: QueuePut, Entry: QueueEntry{Cid: a}},
		{Kind: QueuePutBatch, Entry: QueueEntry{Batch: []BatchItem{{Cid: b}, {Cid: c, Unpin: true}, {Cid: d}}}},
		{Kind: QueuePut, Entry: QueueEntry{Cid: e, Unpin: true}},
	}, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := res.Entries[1].Batch
	if res.Refused[0] || !res.Refused[1] || len(got) != 2 || got[0].Cid != b || got[1].Cid != c || res.Refused[2] {
		t.Fatalf("refused %v, batch stored %v: want the pin that fits and the unpin of the batch, and the single unpin", res.Refused, got)
	}
	if s.QueueLen() != 4 {
		t.Fatalf("queue length %d, want 4 (over the limit of 2 by the unpins)", s.QueueLen())
	}
}
