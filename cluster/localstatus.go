package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/cidset"
)

// settledMask are the statuses that only the IPFS node's pin list can tell: a pin allocated
// here and not in flight.
const settledMask = api.TrackerStatusPinned | api.TrackerStatusUnexpectedlyUnpinned

// inFlightUnpin are the in-flight statuses shown even for a pin no longer allocated here.
const inFlightUnpin = api.TrackerStatusUnpinQueued | api.TrackerStatusUnpinning | api.TrackerStatusUnpinError

// localPin is one pin of a local status pass: the stored bytes (valid only during the call),
// their spans when they scanned, and the status on this peer (PeerName, IPFS and TS filled).
type localPin struct {
	cid     []byte // binary CID
	js      []byte
	spans   pinSpans
	scanned bool
	st      api.PinInfoShort
	settled bool // st is one of the per-pass constant statuses (pinned, unexpectedly_unpinned, remote)
	// gone: a CID the pinset no longer holds, with an unpin queued, running or failed here
	// (js is then only its CID: unpinsInFlight.gone)
	gone bool
}

// localPass streams, in key order, this peer's status of every pin of the pinset matching
// filter and of the CIDs the pinset no longer holds that this peer is still unpinning (queued,
// running or failed: unpin_queued, unpinning, unpin_error, as IPFS Cluster lists the
// operations its tracker holds; unpins.go), in one pass:
// the pinset from Badger in key order, merged with the tracker's in-flight snapshot and one pin
// ls of the IPFS node (only when filter needs it), instead of a tracker request and an IPFS
// request per pin. The rule is the tracker's (Tracker.Status): in flight wins while allocated
// here (and for unpins in flight), then remote when not allocated here, then pinned or
// unexpectedly_unpinned from the node's pin list.
func (s *StatusService) localPass(ctx context.Context, filter api.TrackerStatus, each func(*localPin) error) error {
	return s.localPassWith(ctx, filter, nil, each)
}

// localPassWith is localPass that also lists, as unpinned here, the CIDs elsewhere adds to
// the pass's unpins (a global pass: those other members are still unpinning; unpins.go).
func (s *StatusService) localPassWith(ctx context.Context, filter api.TrackerStatus, elsewhere func(*unpinsInFlight) error,
	each func(*localPin) error) error {
	self := s.d.Members.Self()
	quotedSelf := []byte(`"` + self.String() + `"`)
	base := api.PinInfoShort{PeerName: s.d.Members.PeerName(self), TS: nowUTC()}
	if id, err := s.d.IPFS.ID(ctx); err == nil {
		base.IPFS = id.ID
	}
	inFlight, err := s.inFlightSnapshot(ctx)
	if err != nil {
		return err
	}
	if elsewhere != nil {
		if err := elsewhere(&inFlight.unpins); err != nil {
			return err
		}
	}
	var pinned *cidset.Set
	var lsErr error
	if filter == 0 || filter&(settledMask|api.TrackerStatusClusterError) != 0 { // cluster_error: the node may be down
		if pinned, lsErr = s.pinnedOnIPFS(ctx); ctx.Err() != nil {
			return ctx.Err()
		}
	}
	var lp localPin
	// emit sends st as this peer's status of lp when filter wants it.
	emit := func(st api.PinInfoShort) error {
		if !st.Status.Match(filter) {
			return nil
		}
		st.PeerName, st.IPFS = base.PeerName, base.IPFS
		if st.TS.IsZero() {
			st.TS = base.TS
		}
		lp.st = st
		return each(&lp)
	}
	gone := inFlight.unpins.cursor()
	emitGone := func(c, js []byte, st api.PinInfoShort, _ api.Cid) error {
		if st.Status == api.TrackerStatusUnpinned { // another member's unpin: this peer's own status, if any
			own, found, _, err := inFlight.lookup(ctx, s.d.Tracker, c, js)
			if err != nil {
				return err
			}
			if found {
				st = own
			}
		}
		lp = localPin{cid: c, js: js, gone: true}
		lp.spans, lp.scanned = scanPin(js)
		lp.scanned = lp.scanned && lp.spans.valid()
		return emit(st)
	}
	err = s.d.Store.PinsRaw(ctx, func(c, js []byte) error {
		if err := gone.before(c, emitGone); err != nil { // still pinned: listed as the pinset says
			return err
		}
		lp = localPin{cid: c, js: js}
		lp.spans, lp.scanned = scanPin(js)
		lp.scanned = lp.scanned && lp.spans.valid()
		// A meta-pin shows its shards' aggregate. The scanned type names one exactly; an
		// unscanned pin is searched for the tag (and decoded if it holds it).
		if lp.scanned && string(lp.spans.typ) == metaPinType || !lp.scanned && bytes.Contains(js, metaTag) {
			if st, meta, err := s.localMetaStatus(ctx, js); err != nil {
				return err
			} else if meta {
				return emit(st)
			}
		}
		var allocated bool
		if lp.scanned {
			allocated = allocatedIn(lp.spans.allocations, quotedSelf)
		} else {
			var pin api.Pin
			if err := json.Unmarshal(js, &pin); err != nil {
				return fmt.Errorf("stored pin is not valid JSON: %w", err)
			}
			allocated = pin.AllocatedTo(self)
		}
		st, found, asked, err := inFlight.lookup(ctx, s.d.Tracker, c, js)
		if err != nil {
			return err
		}
		switch {
		case asked: // the tracker's own answer for an item beyond the kept statuses
		case found && (allocated || st.Status&inFlightUnpin != 0):
		case !allocated:
			st, lp.settled = api.PinInfoShort{Status: api.TrackerStatusRemote}, true
		case lsErr != nil:
			st = api.PinInfoShort{Status: api.TrackerStatusClusterError, Error: fmt.Sprintf("cannot ask the IPFS node: %v", lsErr)}
		case pinned == nil: // filter wants no settled status: the pin ls was skipped
			return nil
		case pinned.Has(c):
			st, lp.settled = api.PinInfoShort{Status: api.TrackerStatusPinned}, true
		default:
			st, lp.settled = api.PinInfoShort{Status: api.TrackerStatusUnexpectedlyUnpinned}, true
		}
		return emit(st)
	})
	if err != nil {
		return err
	}
	return gone.before(nil, emitGone)
}

// maxInFlightKept bounds the in-flight statuses a local status pass keeps whole by CID. The
// rest of a large queue (the tracker pages it from Badger) is kept as fingerprints grouped by
// status value: a queue of a million unfetchable pins has a handful of distinct statuses
// (pin_queued, with or without priority), so each of its items is answered from the pass's
// snapshot instead of a tracker request per pin (29k pins/s for 1M queued pins, measured with
// `go run ./bench -suite single`). Variables for tests.
var (
	maxInFlightKept = 1 << 16
	// maxInFlightClasses bounds the distinct status values kept for the rest; items of any
	// further value (failed items with their own errors, mostly) are asked of the tracker.
	maxInFlightClasses = 8
)

// inFlightSet is the tracker's in-flight items during one pass: every CID as a fingerprint,
// the first maxInFlightKept statuses whole (by binary CID), the rest by status value. The
// first value seen after the kept ones is the default: its items cost no second fingerprint
// (in all, in no other set). Memory is fingerprints, never a status per item.
type inFlightSet struct {
	unpins   unpinsInFlight // to list those of CIDs the pinset no longer holds (unpins.go)
	all      *cidset.Set
	kept     map[string]api.PinInfoShort
	def      *api.PinInfoShort // the default value of the rest (nil: none beyond kept)
	classes  []inFlightClass   // the other values, each with its CIDs
	overflow *cidset.Set       // items of no class, asked of the tracker (nil: none)
}

type inFlightClass struct {
	st  api.PinInfoShort
	set *cidset.Set
}

func (s *StatusService) inFlightSnapshot(ctx context.Context) (*inFlightSet, error) {
	f := &inFlightSet{all: cidset.WithCapacity(s.d.Tracker.QueueLen()), kept: map[string]api.PinInfoShort{}}
	err := s.d.Tracker.InFlight(ctx, func(c api.Cid, st api.PinInfoShort) error {
		key := c.KeyString()
		f.all.Add(key)
		f.unpins.add(c, key, st)
		if len(f.kept) < maxInFlightKept {
			f.kept[key] = st
			return nil
		}
		f.addBeyond(key, st)
		return nil
	})
	return f, err
}

// addBeyond files an item beyond the kept ones under its status value.
func (f *inFlightSet) addBeyond(key string, st api.PinInfoShort) {
	switch {
	case f.def != nil && sameShort(*f.def, st):
		return
	case f.def == nil && maxInFlightClasses > 0:
		f.def = &st
		return
	}
	for i := range f.classes {
		if sameShort(f.classes[i].st, st) {
			f.classes[i].set.Add(key)
			return
		}
	}
	if 1+len(f.classes) < maxInFlightClasses {
		f.classes = append(f.classes, inFlightClass{st: st, set: cidset.New()})
		f.classes[len(f.classes)-1].set.Add(key)
		return
	}
	if f.overflow == nil {
		f.overflow = cidset.New()
	}
	f.overflow.Add(key)
}

// sameShort reports whether two in-flight statuses show the same (the fields InFlight sets).
func sameShort(a, b api.PinInfoShort) bool {
	return a.Status == b.Status && a.Error == b.Error && a.AttemptCount == b.AttemptCount && a.PriorityPin == b.PriorityPin &&
		a.TS.Equal(b.TS) && a.PeerName == b.PeerName && a.IPFS == b.IPFS && len(a.IPFSAddresses) == 0 && len(b.IPFSAddresses) == 0 &&
		a.Updated.Equal(b.Updated)
}

// identicalShort reports whether a and b encode to the same JSON (sameShort, with the same
// time zones).
func identicalShort(a, b api.PinInfoShort) bool {
	return sameShort(a, b) && a.TS.Location() == b.TS.Location() && a.Updated.Location() == b.Updated.Location()
}

// lookup is c's in-flight status (found). For an item of no kept value it asks the tracker
// for c's whole status instead (asked), decoding the stored pin.
func (f *inFlightSet) lookup(ctx context.Context, t Tracker, c, js []byte) (st api.PinInfoShort, found, asked bool, err error) {
	if st, found = f.kept[string(c)]; found || f.def == nil && f.overflow == nil || !f.all.Has(c) {
		return st, found, false, nil
	}
	for i := range f.classes {
		if f.classes[i].set.Has(c) {
			return f.classes[i].st, true, false, nil
		}
	}
	if f.overflow == nil || !f.overflow.Has(c) {
		if f.def == nil { // only a fingerprint collision in all gets here
			return st, false, false, nil
		}
		return *f.def, true, false, nil
	}
	var pin api.Pin
	if err := json.Unmarshal(js, &pin); err != nil {
		return st, false, false, fmt.Errorf("stored pin is not valid JSON: %w", err)
	}
	pi, err := t.Status(ctx, pin)
	return pi.PinInfoShort, true, true, err
}

// localStatusAll is status --local of the whole pinset as api.GlobalPinInfo values.
func (s *StatusService) localStatusAll(ctx context.Context, filter api.TrackerStatus, fn func(api.GlobalPinInfo) error) error {
	return s.localPass(ctx, filter, func(lp *localPin) error {
		g, err := s.localInfo(lp)
		if err != nil {
			return err
		}
		return fn(g)
	})
}

// localInfo is lp decoded into an api.GlobalPinInfo of this peer's status.
func (s *StatusService) localInfo(lp *localPin) (api.GlobalPinInfo, error) {
	var pin api.Pin
	if err := json.Unmarshal(lp.js, &pin); err != nil {
		return api.GlobalPinInfo{}, fmt.Errorf("stored pin is not valid JSON: %w", err)
	}
	return api.GlobalPinInfo{Cid: pin.Cid, Name: pin.Name, Allocations: orEmpty(pin.Allocations), Origins: orEmpty(pin.Origins),
		Created: pin.Timestamp, Metadata: pin.Metadata, PeerMap: map[string]api.PinInfoShort{s.d.Members.Self().String(): lp.st}}, nil
}

// StatusLocalJSON streams this peer's status of every pin of the pinset matching filter (0:
// all), and of the CIDs it is still unpinning that the pinset no longer holds (unpins.go), in
// key order, each as the JSON of an api.GlobalPinInfo (no newline) built from the
// stored bytes: no decoding and no allocation per pin beyond the line, which is only valid
// during fn. It is StatusAll(ctx, filter, true, nil, fn) for the REST API's stream.
func (s *StatusService) StatusLocalJSON(ctx context.Context, filter api.TrackerStatus, fn func(line []byte) error) error {
	selfKey, err := json.Marshal(s.d.Members.Self().String())
	if err != nil {
		return err
	}
	settled := map[api.TrackerStatus][]byte{} // the few constant peer_map values of this pass
	// last is the latest in-flight value and its JSON: a large queue's items share a handful
	// of values (inFlightSet's classes), and encoding each again was a fifth of the pass.
	var last struct {
		st   api.PinInfoShort
		json []byte
	}
	var line []byte
	return s.localPass(ctx, filter, func(lp *localPin) error {
		if !lp.scanned {
			g, err := s.localInfo(lp)
			if err != nil {
				return err
			}
			return encodeTo(g, fn)
		}
		var short []byte
		switch {
		case lp.settled:
			short = settled[lp.st.Status]
		case last.json != nil && identicalShort(last.st, lp.st):
			short = last.json
		}
		if short == nil {
			b, err := json.Marshal(lp.st)
			if err != nil {
				return err
			}
			short = b
			if lp.settled {
				settled[lp.st.Status] = b
			} else {
				last.st, last.json = lp.st, b
			}
		}
		f := lp.spans
		line = appendPinHead(line[:0], f)
		line = append(line, selfKey...)
		line = append(line, ':')
		line = append(line, short...)
		line = append(line, "}}"...)
		return fn(line)
	})
}

// appendPinHead appends a GlobalPinInfo line up to its peer_map's first key: the pin's
// fields copied from its stored JSON, then `"peer_map":{`.
func appendPinHead(line []byte, f pinSpans) []byte {
	line = append(line, `{"cid":`...)
	line = append(line, f.cid...)
	line = append(line, `,"name":`...)
	line = appendOr(line, f.name, `""`)
	line = append(line, `,"allocations":`...)
	line = appendOr(line, f.allocations, `[]`)
	line = append(line, `,"origins":`...)
	line = appendOr(line, f.origins, `[]`)
	line = append(line, `,"created":`...)
	line = appendOr(line, f.timestamp, `"0001-01-01T00:00:00Z"`)
	line = append(line, `,"metadata":`...)
	line = appendOr(line, f.metadata, `null`)
	return append(line, `,"peer_map":{`...)
}

// appendOr appends v, or def when v is absent or null.
func appendOr(dst, v []byte, def string) []byte {
	if v == nil || string(v) == "null" {
		return append(dst, def...)
	}
	return append(dst, v...)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// pinnedOnIPFS reads the IPFS node's pin list once into a set.
func (s *StatusService) pinnedOnIPFS(ctx context.Context) (*cidset.Set, error) {
	t := cidset.New()
	err := s.d.IPFS.PinLs(ctx, func(c api.Cid, _ api.PinMode) error {
		t.Add(c.KeyString())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
