package statusdigest

import (
	"fmt"
	"math/bits"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/wirepb"
)

// EntryToWire is the wire form of e.
func EntryToWire(e Entry) *wirepb.DigestEntry {
	w := &wirepb.DigestEntry{Cid: e.Cid, Error: e.Error, Attempts: uint32(max(0, e.Attempts)), Priority: e.Priority, Seq: e.Seq}
	if e.Status != 0 {
		w.Status = uint32(bits.TrailingZeros64(uint64(e.Status))) + 1
	}
	if !e.TS.IsZero() {
		w.Ts = e.TS.UnixNano()
	}
	w.Error = ClipError(w.Error)
	return w
}

// EntryFromWire reads and validates a wire entry.
func EntryFromWire(w *wirepb.DigestEntry) (Entry, error) {
	if w == nil {
		return Entry{}, fmt.Errorf("status digest: empty entry")
	}
	if w.Status > maxStatusBit {
		return Entry{}, fmt.Errorf("status digest: unknown status %d", w.Status)
	}
	e := Entry{Cid: w.Cid, Error: w.Error, Attempts: int(min(w.Attempts, 1<<30)), Priority: w.Priority, Seq: w.Seq}
	if w.Status > 0 {
		e.Status = api.TrackerStatus(1) << (w.Status - 1)
	}
	if w.Ts != 0 {
		e.TS = time.Unix(0, w.Ts).UTC()
	}
	return e, checkEntry(e)
}

// TrustedEntryFromWire converts a wire entry this peer stored after checking it (the replica's
// reads): no validation, no copy of the CID (left nil).
func TrustedEntryFromWire(w *wirepb.DigestEntry) Entry {
	e := Entry{Error: w.Error, Attempts: int(w.Attempts), Priority: w.Priority, Seq: w.Seq, Status: StatusFromWire(w.Status)}
	if w.Ts != 0 {
		e.TS = time.Unix(0, w.Ts).UTC()
	}
	return e
}

// StatusFromWire is the status of a trusted entry's wire status (a bit number; 0, or one out of
// range, is a tombstone's).
func StatusFromWire(s uint32) api.TrackerStatus {
	if s > 0 && s <= maxStatusBit {
		return api.TrackerStatus(1) << (s - 1)
	}
	return 0
}

// EntriesToWire converts a list of entries.
func EntriesToWire(es []Entry) []*wirepb.DigestEntry {
	out := make([]*wirepb.DigestEntry, len(es))
	for i, e := range es {
		out[i] = EntryToWire(e)
	}
	return out
}

// EntriesFromWire converts and validates a list of entries (at most MaxEntries); any bad entry
// fails the whole list.
func EntriesFromWire(ws []*wirepb.DigestEntry) ([]Entry, error) {
	if len(ws) > MaxEntries {
		return nil, fmt.Errorf("status digest: %d entries (limit %d)", len(ws), MaxEntries)
	}
	out := make([]Entry, 0, len(ws))
	for _, w := range ws {
		e, err := EntryFromWire(w)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Encode is the gossip message of d (deterministic bytes: the golden test pins them).
func Encode(d Digest) ([]byte, error) {
	if len(d.Entries) > MaxEntries {
		return nil, fmt.Errorf("status digest: %d entries (limit %d)", len(d.Entries), MaxEntries)
	}
	if !d.Heartbeat && (d.Peername != "" || d.IPFS != "") {
		return nil, fmt.Errorf("status digest: a delta with a peername or IPFS peer ID")
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&wirepb.StatusDigest{
		Epoch: d.Epoch, Seq: d.Seq, Heartbeat: d.Heartbeat, Entries: EntriesToWire(d.Entries), Versions: versionsToWire(d.Versions),
		Peername: announcedName(d.Peername), IpfsId: announcedIPFS(d.IPFS)})
	if err != nil {
		return nil, err
	}
	if len(b) > MaxMessage {
		return nil, fmt.Errorf("status digest: %d bytes (limit %d)", len(b), MaxMessage)
	}
	return b, nil
}

// Decode reads a gossip message from another peer: hostile input. It fails on a message over
// MaxMessage, a malformed one, a heartbeat with entries, a delta whose entries are not at its
// seq or that carries a version vector announcement, a peername or an IPFS peer ID, and any
// bad entry, announcement, peername or IPFS peer ID.
func Decode(b []byte) (Digest, error) {
	if len(b) > MaxMessage {
		return Digest{}, fmt.Errorf("status digest: %d bytes (limit %d)", len(b), MaxMessage)
	}
	var w wirepb.StatusDigest
	if err := proto.Unmarshal(b, &w); err != nil {
		return Digest{}, fmt.Errorf("status digest: %w", err)
	}
	d := Digest{Epoch: w.Epoch, Seq: w.Seq, Heartbeat: w.Heartbeat, Peername: w.Peername, IPFS: w.IpfsId}
	switch {
	case d.Epoch == 0:
		return Digest{}, fmt.Errorf("status digest: no epoch")
	case d.Heartbeat && len(w.Entries) > 0:
		return Digest{}, fmt.Errorf("status digest: a heartbeat with %d entries", len(w.Entries))
	case !d.Heartbeat && (d.Seq == 0 || len(w.Entries) == 0):
		return Digest{}, fmt.Errorf("status digest: an empty delta or one without seq")
	case !d.Heartbeat && w.Versions != nil:
		return Digest{}, fmt.Errorf("status digest: a delta with a version vector announcement")
	case !d.Heartbeat && (d.Peername != "" || d.IPFS != ""):
		return Digest{}, fmt.Errorf("status digest: a delta with a peername or IPFS peer ID")
	}
	if err := checkIdentity(d.Peername, d.IPFS); err != nil {
		return Digest{}, err
	}
	var err error
	if d.Versions, err = versionsFromWire(w.Versions); err != nil {
		return Digest{}, err
	}
	if d.Entries, err = EntriesFromWire(w.Entries); err != nil {
		return Digest{}, err
	}
	for _, e := range d.Entries {
		if e.Seq != d.Seq {
			return Digest{}, fmt.Errorf("status digest: an entry at seq %d in the delta %d", e.Seq, d.Seq)
		}
	}
	return d, nil
}
