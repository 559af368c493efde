package statusdigest

import (
	"fmt"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/wirepb"
)

// A heartbeat carries its publisher's version vector announcement (crdt.VVAnnouncement; why:
// actors/syncer/announced.go): no message of its own, so the announcements cost the idle
// cluster a few bytes per heartbeat, not a message per peer per interval.

// MaxVersionEntries bounds the entries of an announcement (a vector of that many origins is
// about 750 KB, within MaxMessage): a peer with a larger vector announces none, and its members
// pull it. The decoder refuses more, so that a trusted but faulty peer cannot make the
// receiver's syncer sort and hash 150,000 tiny made-up origins per heartbeat.
const MaxVersionEntries = 16384

// versionsToWire is the wire form of a (nil: none), its entries in origin order so that the
// bytes are deterministic.
func versionsToWire(a *crdt.VVAnnouncement) *wirepb.Versions {
	if a == nil {
		return nil
	}
	origins := make([]peer.ID, 0, len(a.Entries))
	for o := range a.Entries {
		origins = append(origins, o)
	}
	slices.Sort(origins)
	w := &wirepb.Versions{Sum: a.Sum[:], Full: a.Full, Entries: make([]*wirepb.VersionEntry, 0, len(origins))}
	for _, o := range origins {
		w.Entries = append(w.Entries, &wirepb.VersionEntry{Origin: []byte(o), Seq: a.Entries[o]})
	}
	return w
}

// versionsFromWire reads an announcement (nil: none). It treats w as hostile: more than
// MaxVersionEntries entries, a sum of the wrong size, a bad origin or one named twice is an
// error.
func versionsFromWire(w *wirepb.Versions) (*crdt.VVAnnouncement, error) {
	if w == nil {
		return nil, nil
	}
	if len(w.Entries) > MaxVersionEntries {
		return nil, fmt.Errorf("status digest: a version vector announcement of %d entries (limit %d)", len(w.Entries), MaxVersionEntries)
	}
	if len(w.Sum) != crdt.SumSize {
		return nil, fmt.Errorf("status digest: a version vector sum of %d bytes (want %d)", len(w.Sum), crdt.SumSize)
	}
	a := &crdt.VVAnnouncement{Full: w.Full, Entries: make(map[peer.ID]uint64, len(w.Entries))}
	copy(a.Sum[:], w.Sum)
	for _, e := range w.Entries {
		id, err := peer.IDFromBytes(e.GetOrigin())
		if err != nil {
			return nil, fmt.Errorf("status digest: version vector origin: %w", err)
		}
		if _, dup := a.Entries[id]; dup {
			return nil, fmt.Errorf("status digest: version vector origin %s named twice", id)
		}
		a.Entries[id] = e.GetSeq()
	}
	return a, nil
}
