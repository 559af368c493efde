package healer

import (
	"testing"
	"time"

	"github.com/pincluster/pincluster/messages"
)

// Syncs asked for in a burst (a script calling `recover` in a loop) run once after the gap,
// not back to back, and a later ask runs again.
func TestWantedSyncsArePaced(t *testing.T) {
	defer func(d time.Duration) { minWantedGap = d }(minWantedGap)
	minWantedGap = 300 * time.Millisecond
	f := newFakes(pinOf(t, 1, -1, -1))
	system, _, h := spawn(t, f, time.Hour, time.Hour)
	waitPasses := func(want int32) {
		t.Helper()
		for i := 0; i < 1000 && f.passes.Load() < want; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if got := f.passes.Load(); got < want {
			t.Fatalf("%d passes over the pinset, want %d", got, want)
		}
	}
	waitPasses(1) // the startup sync
	start := f.passes.Load()
	for range 20 {
		system.Root.Send(h.PID(), messages.StateSyncWanted{})
	}
	waitPasses(start + 1) // the paced sync
	// A negative check, so a window: no second sync within 3 gaps, which covers both a
	// back-to-back one and one paced a gap after the first ended.
	time.Sleep(3 * minWantedGap)
	if got := f.passes.Load() - start; got != 1 {
		t.Fatalf("20 asks in a burst made %d syncs, want 1", got)
	}
	system.Root.Send(h.PID(), messages.StateSyncWanted{})
	waitPasses(start + 2)
}
