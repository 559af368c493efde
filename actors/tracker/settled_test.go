package tracker

import (
	"fmt"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// Settled counts the pins the node completed and the pins it removed: an unpin of a CID the
// node did not hold removes nothing and is not counted.
func TestSettledCountsWhatTheNodeChanged(t *testing.T) {
	tr, b := newTestTracker(t, testConfig())
	a, c, never := testPin(t, "a"), testPin(t, "c"), testPin(t, "never pinned")
	for _, p := range []api.Pin{a, c} {
		if err := tr.Track(ctx5s(t), p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two pins", func() (bool, string) {
		pins, _ := tr.Settled()
		return pins == 2 && b.Pinned(a.Cid) && b.Pinned(c.Cid), fmt.Sprint(pins)
	})
	for _, p := range []api.Pin{a, never} {
		if err := tr.Untrack(ctx5s(t), p.Cid); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both unpins ran", func() (bool, string) {
		return b.UnpinCalls(a.Cid) == 1 && b.UnpinCalls(never.Cid) == 1, fmt.Sprint(b.UnpinCalls(a.Cid), b.UnpinCalls(never.Cid))
	})
	waitFor(t, "one pin removed", func() (bool, string) {
		pins, unpins := tr.Settled()
		return pins == 2 && unpins == 1, fmt.Sprint(pins, unpins)
	})
}
