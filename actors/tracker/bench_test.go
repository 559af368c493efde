package tracker

import (
	"context"
	"fmt"
	"github.com/pincluster/pincluster/internal/poll"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs/fake"
)

// BenchmarkTrackToPinned measures pins/s through the tracker (queue, cid actor, fake IPFS
// call, settle) with the default 10 slots.
func BenchmarkTrackToPinned(b *testing.B) {
	cfg := DefaultConfig()
	be := fake.New()
	tr, err := New(quietSystem().Root, cfg, be, testQueue(b), selfID, "peer0", discard())
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Stop()
	pins := make([]api.Pin, b.N)
	for i := range pins {
		pins[i] = api.NewPin(testCid(b, fmt.Sprint("bench", i)), api.PinOptions{})
	}
	ctx := context.Background()
	b.ResetTimer()
	for _, p := range pins {
		if err := tr.Track(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	if !poll.Until(time.Minute, time.Millisecond, func() bool { return tr.QueueLen() == 0 }) {
		b.Fatalf("still %d in the queue", tr.QueueLen())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pins/s")
}

// BenchmarkTrackManyToPinned measures pins/s through the tracker when the pins come in bursts
// (TrackMany of 1,000): the per-item cost of the window, the queue actors, the slot grants and
// the cid actors, with the durable writes group-committed.
func BenchmarkTrackManyToPinned(b *testing.B) {
	cfg := DefaultConfig()
	be := fake.New()
	tr, err := New(quietSystem().Root, cfg, be, testQueue(b), selfID, "peer0", discard())
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Stop()
	pins := make([]api.Pin, b.N)
	for i := range pins {
		pins[i] = api.NewPin(testCid(b, fmt.Sprint("burst", i)), api.PinOptions{})
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < len(pins); i += 1000 {
		if err := tr.TrackMany(ctx, pins[i:min(i+1000, len(pins))]); err != nil {
			b.Fatal(err)
		}
	}
	if !poll.Until(time.Minute, time.Millisecond, func() bool { return tr.QueueLen() == 0 }) {
		b.Fatalf("still %d in the queue", tr.QueueLen())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pins/s")
}

// TestSettledPinsCostNothing pins many CIDs and checks nothing stays in the tracker.
func TestSettledPinsCostNothing(t *testing.T) {
	tr, b := newTestTracker(t, DefaultConfig())
	const n = 500
	for i := 0; i < n; i++ {
		if err := tr.Track(ctx5s(t), testPin(t, fmt.Sprint("many", i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all settled", func() (bool, string) { return tr.QueueLen() == 0, fmt.Sprint(tr.QueueLen()) })
	left := 0
	tr.InFlight(ctx5s(t), func(api.Cid, api.PinInfoShort) error { left++; return nil })
	if left != 0 || !b.Pinned(testCid(t, "many0")) {
		t.Fatalf("%d items left in flight", left)
	}
}
