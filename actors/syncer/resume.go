package syncer

import (
	"context"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// Resuming a snapshot: a fresh peer's snapshot of 10M pins takes many minutes on a small
// machine, and one failed step (a request timing out while the responder's store stalls)
// used to start it over from the first page. The syncer keeps, per responder and in memory
// only, where an interrupted snapshot stopped: the last page installed and the minimum of the
// installed pages' version vectors. The next pull from that peer asks for the page after it.
// That is a snapshot like any slow one: every page reflects the ops up to its own vector,
// and the vector is raised to the floor of all of them at the end. A restart, or an hour
// without a pull from that peer, starts over.

// resumeFor is how long an interrupted snapshot is kept.
const resumeFor = time.Hour

// snapshotResume is where an interrupted snapshot from a peer stopped.
type snapshotResume struct {
	after api.Cid            // the last page's upper key
	floor map[peer.ID]uint64 // pointwise minimum of the installed pages' vectors
	at    time.Time
}

// keepResume records where a snapshot from `from` started at `at` stopped.
func (s *Syncer) keepResume(from peer.ID, after api.Cid, floor map[peer.ID]uint64, at time.Time) {
	if !after.Defined() {
		return // no page installed: nothing to go on from
	}
	s.resumeMu.Lock()
	defer s.resumeMu.Unlock()
	if s.resume == nil {
		s.resume = map[peer.ID]snapshotResume{}
	}
	s.resume[from] = snapshotResume{after: after, floor: floor, at: at}
}

// takeResume removes and returns the snapshot from `from` to resume: one started within
// resumeFor whose floor this peer does not hold yet (caught up from another peer meanwhile,
// it would only re-merge what is here). The version vector is read only when there is one.
func (s *Syncer) takeResume(from peer.ID) (snapshotResume, bool, error) {
	s.resumeMu.Lock()
	r, ok := s.resume[from]
	delete(s.resume, from)
	s.resumeMu.Unlock()
	if !ok || time.Since(r.at) >= resumeFor {
		return r, false, nil
	}
	vv, err := s.store.VersionVector()
	if err != nil {
		return r, false, err
	}
	for o, n := range r.floor {
		if vv[o] < n {
			return r, true, nil
		}
	}
	return r, false, nil
}

// resumeSnapshot goes on with the snapshot from `from` that stopped at r. ok false: the
// peer no longer answers with a snapshot page (nothing was applied; pull as usual).
func (s *Syncer) resumeSnapshot(ctx context.Context, from peer.ID, r snapshotResume) (n int, ok bool, err error) {
	resp, err := s.request(ctx, from, &messages.SyncRequest{Limit: s.page, Cursor: r.after.String()})
	if err != nil {
		s.keepResume(from, r.after, r.floor, r.at)
		return 0, false, err
	}
	if !resp.Snapshot {
		return 0, false, nil
	}
	n, err = s.loadSnapshotFrom(ctx, from, resp, r.after, r.floor, r.at)
	return n, true, err
}
