package statusdigest

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

const (
	// MaxMessage bounds an encoded digest or pull page.
	MaxMessage = 1 << 20
	// MaxEntries bounds the entries of one digest or pull page.
	MaxEntries = 4096
	// MaxErrorLen bounds an entry's error text (longer ones are cut when encoding).
	MaxErrorLen = 512
	// MaxBatchBytes bounds the entries of one delta a publisher writes, by Entry.Size: MaxEntries
	// entries with long errors would exceed MaxMessage (from errors of about 200 bytes) and one
	// Badger transaction of the own digest (about 300 bytes, at 8 MiB memtables).
	MaxBatchBytes = MaxMessage / 2
	// maxStatusBit is the highest api.TrackerStatus bit an entry may carry.
	maxStatusBit = 13
)

// Entry is the status of one CID on its publisher. A zero Status is a tombstone: the CID left
// the publisher (unpinned, or no longer allocated to it).
type Entry struct {
	Cid      []byte // binary CID
	Status   api.TrackerStatus
	TS       time.Time
	Error    string
	Attempts int
	Priority bool
	Seq      uint64 // the delta that last changed the entry
}

// Size is an upper bound of e's encoded size, on the wire and in a publisher's store, for
// MaxBatchBytes.
func (e Entry) Size() int { return len(e.Cid) + min(len(e.Error), MaxErrorLen) + 48 }

// BatchLen is how many of the first entries of es one delta takes: at most MaxEntries and
// MaxBatchBytes, and at least one.
func BatchLen(es []Entry) int {
	n, size := 0, 0
	for n < len(es) && n < MaxEntries {
		if size += es[n].Size(); size > MaxBatchBytes && n > 0 {
			break
		}
		n++
	}
	return n
}

// Deleted reports whether e is a tombstone.
func (e Entry) Deleted() bool { return e.Status == 0 }

// UnpinInFlight reports whether e is an unpin queued, running or failed: a status a peer
// keeps, and lists, for a CID the pinset may no longer hold.
func (e Entry) UnpinInFlight() bool {
	return e.Status&(api.TrackerStatusUnpinQueued|api.TrackerStatusUnpinning|api.TrackerStatusUnpinError) != 0
}

// ShownByAbsence reports whether a digest without an entry for the CID already tells e: a
// tombstone, or pin_queued (readers show an allocated peer with no entry as pin_queued). A
// publisher does not store such an entry where it has none (persistence.WriteOwnDigest), and
// its reconcile does not offer one (at 10M queued pins that was 10M lookups a pass for nothing).
func (e Entry) ShownByAbsence() bool {
	return e.Deleted() || e.Status == api.TrackerStatusPinQueued
}

// Same reports whether e and o tell the same status (Seq aside).
func (e Entry) Same(o Entry) bool {
	return e.Status == o.Status && e.TS.Equal(o.TS) && e.Error == o.Error && e.Attempts == o.Attempts && e.Priority == o.Priority
}

// Short is e as a peer_map value (PeerName, IPFS and Updated are the caller's).
func (e Entry) Short() api.PinInfoShort {
	return api.PinInfoShort{Status: e.Status, TS: e.TS, Error: e.Error, AttemptCount: e.Attempts, PriorityPin: e.Priority}
}

// FromShort is the entry of a tracker status; statuses that are not kept (remote, unpinned,
// undefined) are a tombstone.
func FromShort(c []byte, st api.PinInfoShort) Entry {
	e := Entry{Cid: c, TS: st.TS.UTC(), Error: st.Error, Attempts: st.AttemptCount, Priority: st.PriorityPin}
	if Kept(st.Status) {
		e.Status = st.Status
	} else {
		e = Entry{Cid: c}
	}
	e.Error = ClipError(e.Error)
	return e
}

// ClipError is s as an entry carries it: valid UTF-8 (an IPFS error may carry any bytes) of at
// most MaxErrorLen bytes, cut on a character.
func ClipError(s string) string { return clipUTF8(s, MaxErrorLen) }

// Kept reports whether s is a status a digest carries: a status of a CID allocated to its
// publisher.
func Kept(s api.TrackerStatus) bool {
	const notKept = api.TrackerStatusUndefined | api.TrackerStatusRemote | api.TrackerStatusUnpinned
	return bits.OnesCount64(uint64(s)) == 1 && s&notKept == 0 && s < 1<<maxStatusBit
}

// Digest is a <cluster_name>/status message: the entries changed at Seq, or a heartbeat. A
// heartbeat may carry the publisher's version vector announcement (Versions; nil: none), and
// its peername and its IPFS node's peer ID (empty: not told; peers of earlier versions tell
// neither), which global status shows for it.
type Digest struct {
	Epoch     uint64
	Seq       uint64
	Heartbeat bool
	Entries   []Entry
	Versions  *crdt.VVAnnouncement
	Peername  string
	IPFS      string
}

// Page is one page of a publisher's whole digest, read at version (Epoch, Seq).
type Page struct {
	Epoch   uint64
	Seq     uint64
	Entries []Entry
	More    bool
}

// checkEntry validates a decoded entry.
func checkEntry(e Entry) error {
	if _, err := api.CastCid(e.Cid); err != nil {
		return fmt.Errorf("status digest: bad CID: %w", err)
	}
	if e.Status != 0 && !Kept(e.Status) {
		return fmt.Errorf("status digest: %s: status %d is not a digest status", mustCid(e.Cid), uint64(e.Status))
	}
	if len(e.Error) > MaxErrorLen {
		return fmt.Errorf("status digest: error text of %d bytes (limit %d)", len(e.Error), MaxErrorLen)
	}
	if e.Attempts < 0 {
		return fmt.Errorf("status digest: negative attempt count")
	}
	return nil
}

func mustCid(b []byte) string {
	c, err := api.CastCid(b)
	if err != nil {
		return fmt.Sprintf("%x", b)
	}
	return c.String()
}
