package cluster

import (
	"errors"
	"maps"
	"slices"

	"github.com/pincluster/pincluster/api"
)

// Unpins of CIDs the pinset no longer holds. IPFS Cluster lists the operations its tracker
// holds, so `status --filter unpin_error` finds an unpin that failed after its CID left the
// pinset; the status passes here list the unpins in flight (queued, running or failed) whose
// CID they do not meet in the pinset, among the pinset's CIDs in key order. A global pass
// also lists those the current digest replicas show another member still unpinning
// (addElsewhere, from the replicas' unpin index), this peer's part being unpinned unless it
// has its own; a stale replica adds none, its entries being possibly long gone there.
//
// Decision: a pass reads the unpins before it walks the pinset and merges them into the walk
// in key order (unpinCursor), skipping each CID the walk meets, so a listing stays in key
// order (the status digest's reconcile walks it so) and lists a CID once even when it is
// unpinned during the walk. Memory is bounded
// per kind: up to maxUnpinsListed failed unpins and as many queued or running ones, because
// failed entries come last in the tracker's listing and are what the filter looks for. An
// unpin of a CID still pinned (its pin moved away) counts too: beyond the bounds, some are
// not listed.

// maxUnpinsListed bounds each kind of unpin a pass keeps (a CID and a status each). A
// variable for tests.
var maxUnpinsListed = 1 << 16

// unpinsInFlight is one pass's unpins in flight, by binary CID. The zero value is empty.
type unpinsInFlight struct {
	m             map[string]unpinInFlight
	failed, other int
	// elsewhereFailed and elsewhereOther count the other members' (addElsewhere).
	elsewhereFailed, elsewhereOther int
}

// errEnoughUnpins ends a walk of other members' unpins: both of their bounds are reached.
var errEnoughUnpins = errors.New("enough unpins listed")

type unpinInFlight struct {
	c  api.Cid
	st api.PinInfoShort
}

// add keeps c (key: its binary form) when st is an unpin and its kind has room.
func (u *unpinsInFlight) add(c api.Cid, key string, st api.PinInfoShort) {
	if st.Status&inFlightUnpin == 0 {
		return
	}
	n := kindCount(st.Status, &u.failed, &u.other)
	if *n >= maxUnpinsListed {
		return
	}
	if u.m == nil {
		u.m = map[string]unpinInFlight{}
	}
	*n++
	u.m[key] = unpinInFlight{c: c, st: st}
}

// kindCount is the count of st's kind: failed, or queued and running.
func kindCount(st api.TrackerStatus, failed, other *int) *int {
	if st == api.TrackerStatusUnpinError {
		return failed
	}
	return other
}

// addElsewhere keeps the binary CID c, which another member is still unpinning (st there),
// unless this peer's own unpin of it is kept, with this peer's status as unpinned (a local
// pass asks its in-flight snapshot again: its own unpin may be beyond the kept ones). Each
// kind is bounded as this peer's own are: failed ones are what a filter looks for, and a
// bulk unpin in progress elsewhere must not crowd them out. errEnoughUnpins: both are full.
func (u *unpinsInFlight) addElsewhere(c []byte, st api.TrackerStatus) error {
	n := kindCount(st, &u.elsewhereFailed, &u.elsewhereOther)
	if _, ok := u.m[string(c)]; ok || *n >= maxUnpinsListed {
		if u.elsewhereFailed >= maxUnpinsListed && u.elsewhereOther >= maxUnpinsListed {
			return errEnoughUnpins
		}
		return nil
	}
	id, err := api.CastCid(c)
	if err != nil {
		return nil // a replica entry is checked when stored: not listed rather than failing the pass
	}
	if u.m == nil {
		u.m = map[string]unpinInFlight{}
	}
	*n++
	u.m[string(c)] = unpinInFlight{c: id, st: api.PinInfoShort{Status: api.TrackerStatusUnpinned}}
	return nil
}

// allUnpinned reports whether every part of g is unpinned: a CID the pinset no longer holds
// that every peer has done with since its pass read the unpins. Listings of the pinset leave
// such rows out.
func allUnpinned(g api.GlobalPinInfo) bool {
	for _, st := range g.PeerMap {
		if st.Status != api.TrackerStatusUnpinned {
			return false
		}
	}
	return len(g.PeerMap) > 0
}

// empty reports whether no unpin is kept.
func (u *unpinsInFlight) empty() bool { return len(u.m) == 0 }

// cursor returns the kept unpins in key order, to be merged with a pinset walk.
func (u *unpinsInFlight) cursor() *unpinCursor {
	keys := slices.Sorted(maps.Keys(u.m))
	return &unpinCursor{u: u, keys: keys}
}

// unpinCursor walks the kept unpins in key order beside a pinset walk in key order.
type unpinCursor struct {
	u    *unpinsInFlight
	keys []string
	i    int
	js   []byte
}

// pending reports whether unpins are left to merge.
func (c *unpinCursor) pending() bool { return c.i < len(c.keys) }

// before calls fn for each unpin whose CID sorts before key (binary; nil: every one left), and
// skips the one of key itself: the pinset lists that CID. fn gets the binary CID, a stored-pin
// JSON of the CID alone (valid during fn), the status and the CID.
func (c *unpinCursor) before(key []byte, fn func(cid, js []byte, st api.PinInfoShort, id api.Cid) error) error {
	for ; c.i < len(c.keys); c.i++ {
		k := c.keys[c.i]
		if key != nil && k >= string(key) {
			if k == string(key) {
				c.i++
			}
			return nil
		}
		e := c.u.m[k]
		c.js = append(append(append(c.js[:0], `{"cid":"`...), e.c.String()...), `"}`...)
		if err := fn([]byte(k), c.js, e.st, e.c); err != nil {
			return err
		}
	}
	return nil
}
