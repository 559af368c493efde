package tracker

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// TestQueueDrainsPastABatchThatDoesNotFitThePage: a page of the durable queue stops before a
// batch entry that would take it over the room asked for, so it comes back short although the
// queue holds more. The tracker took that for the end of the queue and paged nothing more
// until some later write: after a bulk unpin larger than the window, thousands of unpins sat
// unpin_queued for minutes, and every new pin waited behind them (QA).
func TestQueueDrainsPastABatchThatDoesNotFitThePage(t *testing.T) {
	cfg := testConfig()
	cfg.QueueWindow = 4
	tr, st, b, origin := storeTracker(t, cfg)
	seq := uint64(0)
	op := func(p api.Pin) crdt.Op {
		seq++
		o := crdt.Op{Origin: origin, Seq: seq, Clock: crdt.HLC(seq), Kind: crdt.OpPin, Cid: p.Cid}
		o.PinJSON, _ = json.Marshal(p)
		return o
	}
	var all []api.Pin
	event := func(n int) {
		pins := make([]api.Pin, n)
		ops := make([]crdt.Op, n)
		for i := range pins {
			pins[i] = testPin(t, fmt.Sprint("short", len(all)+i))
			ops[i] = op(pins[i])
		}
		if _, err := st.Apply(ops); err != nil {
			t.Fatal(err)
		}
		all = append(all, pins...)
		tr.system.Root.Send(tr.PID(), messages.PinsetChanged{Ops: ops, Created: make([]bool, n)})
	}
	event(cfg.QueueWindow)
	for _, p := range all {
		b.StallPin(p.Cid) // the window stays full until released
	}
	waitStatus(t, tr, all[0], api.TrackerStatusPinning)
	for range 4 {
		event(3) // a batch entry of 3 each: two do not fit a page of 4
	}
	waitFor(t, "batch entries written", func() (bool, string) {
		return st.QueueBatched() == 12, fmt.Sprint(st.QueueBatched())
	})
	for _, p := range all[:cfg.QueueWindow] {
		b.Release(p.Cid)
	}
	waitFor(t, "queue drained", func() (bool, string) {
		return tr.QueueLen() == 0 && st.QueueBatched() == 0, fmt.Sprintf("queue %d batched %d", tr.QueueLen(), st.QueueBatched())
	})
	for i, p := range all {
		if !b.Pinned(p.Cid) {
			t.Fatalf("pin %d not pinned", i)
		}
	}
}
