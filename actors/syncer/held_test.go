package syncer

import (
	"context"
	"math"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// pins returns origin's ops of seqs from..to, one pin each.
func pins(t testing.TB, origin peer.ID, from, to uint64) []crdt.Op {
	var ops []crdt.Op
	for seq := from; seq <= to; seq++ {
		ops = append(ops, pinOp(t, origin, seq, mkCid(t, int(seq)), "p"))
	}
	return ops
}

// A replica holding ops 1..1000 of an origin except 400..420 is sent those 21 ops (and the
// ones beyond what it holds), not everything after the gap.
func TestPullSendsOnlyTheGap(t *testing.T) {
	for _, tc := range []struct {
		name     string
		page     int
		upTo     uint64 // the responder's last seq
		want     int
		requests int32
	}{
		{"gap only", DefaultPageSize, 1000, 21, 1},
		{"gap and tail", DefaultPageSize, 1010, 31, 1},
		{"pages", 8, 1010, 31, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newSide(t, 1, tc.page), newSide(t, 2, tc.page)
			connect(b, a)
			o := newPeer(t, 10)
			mustApply(t, a, pins(t, o, 1, tc.upTo))
			mustApply(t, b, pins(t, o, 1, 399))
			mustApply(t, b, pins(t, o, 421, 1000))
			n, err := b.syncer.Pull(t.Context(), a.id)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Fatalf("pulled %d ops, want %d", n, tc.want)
			}
			if got := b.link.requests.Load(); got != tc.requests {
				t.Fatalf("%d requests, want %d", got, tc.requests)
			}
			assertSame(t, a, b)
		})
	}
}

// Ops received by gossip and still queued in the pinset's mailbox are applied before the pull
// says what it holds, so they are not sent again.
func TestPullWaitsForQueuedOps(t *testing.T) {
	a, b := newSide(t, 1, DefaultPageSize), newSide(t, 2, DefaultPageSize)
	connect(b, a)
	o := newPeer(t, 10)
	mustApply(t, a, pins(t, o, 1, 1000))
	mustApply(t, b, pins(t, o, 1, 399))
	b.syncer.writer.(*pinset.Pinset).ApplyRemote(pins(t, o, 421, 1000))
	n, err := b.syncer.Pull(t.Context(), a.id)
	if err != nil {
		t.Fatal(err)
	}
	if n != 21 {
		t.Fatalf("pulled %d ops, want 21", n)
	}
	assertSame(t, a, b)
}

// A request without held ranges (an older peer's) is sent every op above its vector; held
// ranges from another peer that overlap, are malformed or reach the end of the seq space are
// read safely.
func TestAnswerHeldRanges(t *testing.T) {
	a := newSide(t, 1, DefaultPageSize)
	o := newPeer(t, 10)
	mustApply(t, a, pins(t, o, 1, 100))
	vv := map[string]uint64{o.String(): 10}
	seqs := func(held ...messages.SeqRange) (out []uint64) {
		resp := answer(context.Background(), a.store, &messages.SyncRequest{VV: vv, Limit: DefaultPageSize, Held: held}, "", snapshotMinOps)
		if resp.Error != "" {
			t.Fatal(resp.Error)
		}
		for _, b := range resp.Ops {
			op, err := crdt.UnmarshalOp(b)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, op.Seq)
		}
		return out
	}
	r := func(from, to uint64) messages.SeqRange {
		return messages.SeqRange{Origin: o.String(), From: from, To: to}
	}
	if got := seqs(); len(got) != 90 || got[0] != 11 || got[89] != 100 {
		t.Fatalf("no held ranges: %d ops %v", len(got), got)
	}
	for _, tc := range []struct {
		name string
		held []messages.SeqRange
		want []uint64
	}{
		{"holes", []messages.SeqRange{r(13, 98), r(11, 11)}, []uint64{12, 99, 100}},
		{"overlapping", []messages.SeqRange{r(11, 50), r(20, 97), r(40, 60)}, []uint64{98, 99, 100}},
		{"to the end", []messages.SeqRange{r(12, math.MaxUint64)}, []uint64{11}},
		{"malformed ignored", []messages.SeqRange{r(0, 99), r(99, 12), {Origin: "x", From: 11, To: 100}, r(11, 97)}, []uint64{98, 99, 100}},
		{"below the vector", []messages.SeqRange{r(1, 10), r(5, 98)}, []uint64{99, 100}},
	} {
		got := seqs(tc.held...)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}
