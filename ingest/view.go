package ingest

import "github.com/pincluster/pincluster/api"

// runView is what the run's own lines committed or are about to commit, by CID. A line
// compares against it before the snapshot, which misses the run's commits made after it was
// opened (and the commit in flight when it was): without it, a CID named twice with other
// options was committed once per line, and a rerun of the file changed it again.
//
// It covers the current snapshot's window and the one before (the commit in flight when the
// snapshot was renewed lands before the next renewal), so it holds at most the changes of
// 2*snapshotChunks chunks (about 130k pins), however long the input. Another writer's change
// to a CID the run already changed is not seen within that window; the run's line wins, as it
// would by coming later.
//
// It holds pointers to the pins of the run's changes (nil: unpinned), not copies: a copy per
// line was 40% of prepare's CPU in a first ingest (map slots of a few hundred bytes). The
// changes stay alive with it, read-only, a window longer than their commit.
type runView struct {
	cur, prev map[api.Cid]*api.Pin
}

func newRunView() *runView { return &runView{cur: map[api.Cid]*api.Pin{}} }

// renew starts the window of a new snapshot, which sees what the window before the last held.
func (v *runView) renew() { v.prev, v.cur = v.cur, make(map[api.Cid]*api.Pin, len(v.cur)) }

// put records that the run leaves c as pin, or unpinned (nil).
func (v *runView) put(c api.Cid, pin *api.Pin) { v.cur[c] = pin }

// get returns what the run left c as, else the snapshot's pin and found.
func (v *runView) get(c api.Cid, pin api.Pin, found bool) (api.Pin, bool) {
	e, ok := v.cur[c]
	if !ok && len(v.prev) > 0 {
		e, ok = v.prev[c]
	}
	switch {
	case !ok:
		return pin, found
	case e == nil:
		return api.Pin{}, false
	}
	return *e, true
}
