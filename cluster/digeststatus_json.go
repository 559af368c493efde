package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// StatusJSON is global StatusAll of the whole pinset from the replicas (replicaStatusAll), each
// pin as the JSON of an api.GlobalPinInfo (no newline) written from the stored bytes and the
// replica entries: no decoding of the pin and no map per pin. The line is only valid during
// fn. A pin whose stored JSON does not scan, or that is allocated to a peer that is not a
// member, takes the general path. Without a replica it is StatusAll's fan-out, encoded.
func (s *StatusService) StatusJSON(ctx context.Context, filter api.TrackerStatus, fn func(line []byte) error) error {
	slow := func(g api.GlobalPinInfo) error { return encodeTo(g, fn) }
	return s.replicaPass(ctx, filter, slow, func(ps *digestParts, now time.Time) passRenderer {
		self := s.d.Members.Self().String()
		selfKey := []byte(`,"` + self + `":`)
		// The constant parts of a pass: each member's key (after its comma) and name, and its
		// whole value when stale, and when remote (remoteRuns); in key order, as encoding/json
		// writes a map (the lines are canonical: GET /pins as application/x-ndjson declares
		// them so).
		ms := make([]jsonMember, len(ps.members))
		for i, p := range ps.members {
			m := &ms[i]
			m.i, m.id = i, p.key
			m.key = []byte(`,"` + p.key + `":`)
			m.name, _ = json.Marshal(p.name)
			m.ipfs = p.ipfs
			m.head = append([]byte(`{"peername":`), m.name...)
			if p.ipfs != "" { // as appendShort writes it
				m.head = api.AppendJSONString(append(m.head, `,"ipfs_peer_id":`...), p.ipfs)
			}
			m.head = append(m.head, `,"status":"`...)
			if !p.updated.IsZero() {
				m.updated = appendTime(append(m.updated, `,"updated":`...), p.updated)
			}
			m.updated = append(m.updated, '}')
			m.pinnedHead = append(append(slices.Clip(m.head), api.TrackerStatusPinned.String()...), `","timestamp":`...)
			m.pinnedTail = append(appendShortTail(nil, &api.PinInfoShort{AttemptCount: 1}), m.updated...)
			if p.stale != "" {
				m.stale = appendShort(nil, m.name, staleShort(p, now))
			}
		}
		sort.Slice(ms, func(a, b int) bool { return ms[a].id < ms[b].id })
		selfAt := sort.Search(len(ms), func(k int) bool { return self < ms[k].id })
		if selfAt == 0 { // the map's first key has no comma
			selfKey = selfKey[1:]
		} else {
			ms[0].key = ms[0].key[1:]
		}
		var remote remoteRuns
		for k := range ms {
			remote.add(ms[k].i, ms[k].key, appendShort(nil, ms[k].name, api.PinInfoShort{IPFS: ms[k].ipfs,
				Status: api.TrackerStatusRemote, TS: now}))
		}
		var line []byte
		var ta api.TimeAppender // a pass's timestamps mostly share their day
		return func(lp *localPin, parts []memberPart) error {
			line = appendPinHead(line[:0], lp.spans)
			line = remote.appendParts(line, parts, selfAt,
				func(b []byte) []byte { return appendShortWith(append(b, selfKey...), nil, lp.st, &ta) },
				func(b []byte, k int, part *memberPart) []byte {
					m := &ms[k]
					if b = append(b, m.key...); part.kind == partStale {
						return append(b, m.stale...)
					}
					return m.appendEntry(b, &part.st, ps.members[m.i].updated, &ta)
				})
			line = append(line, "}}"...)
			return fn(line)
		}
	})
}

// remoteRuns is the constant bytes of each member's part of a pass where a pin is not
// allocated to it, in the order the parts are written (JSON: by key; text: by label), so that
// a run of them is one copy: at 100 members and 3 allocations a pin is 97 remote parts, and
// two appends per part were most of the writing (2026-12-05).
type remoteRuns struct {
	b     []byte
	off   []int // the k-th member's bytes are b[off[k]:off[k+1]]
	order []int // the k-th member's index in a pass's parts
}

// add appends the next member, whose index in parts is i, and its bytes, the concatenation
// of bs.
func (r *remoteRuns) add(i int, bs ...[]byte) {
	if len(r.off) == 0 {
		r.off = append(r.off, 0)
	}
	for _, b := range bs {
		r.b = append(r.b, b...)
	}
	r.off = append(r.off, len(r.b))
	r.order = append(r.order, i)
}

// appendRun appends the bytes of members from up to (not including) to.
func (r *remoteRuns) appendRun(dst []byte, from, to int) []byte {
	if from >= to {
		return dst
	}
	return append(dst, r.b[r.off[from]:r.off[to]]...)
}

// appendParts appends a pin's parts in the members' order: the remote ones as runs, the k-th
// member's otherwise by member, and this peer's by self before the selfAt-th member (after
// all of them when selfAt is their number).
func (r *remoteRuns) appendParts(dst []byte, parts []memberPart, selfAt int, self func([]byte) []byte,
	member func(b []byte, k int, part *memberPart) []byte) []byte {
	run := 0 // the first member of the run of remote parts not written yet
	for k, i := range r.order {
		if k == selfAt {
			dst = self(r.appendRun(dst, run, k))
			run = k
		}
		part := &parts[i]
		if part.kind == partRemote {
			continue
		}
		dst = member(r.appendRun(dst, run, k), k, part)
		run = k + 1
	}
	dst = r.appendRun(dst, run, len(r.order))
	if selfAt == len(r.order) {
		dst = self(dst)
	}
	return dst
}

// passRenderer writes one pin of a replica pass on the fast path: its stored spans, this
// peer's status, and each other member's part (ps.members' order). parts is only valid during
// the call.
type passRenderer func(lp *localPin, parts []memberPart) error

// memberPart is one other member's part of a pin in a replica pass.
type memberPart struct {
	kind partKind
	st   api.PinInfoShort // partEntry only (without the peer name and IPFS peer ID)
}

type partKind uint8

const (
	partEntry  partKind = iota // from the member's replica
	partRemote                 // the pin is not allocated to it
	partStale                  // its replica is too old to show
)

func staleShort(p digestPart, now time.Time) api.PinInfoShort {
	return api.PinInfoShort{PeerName: p.name, IPFS: p.ipfs, Status: api.TrackerStatusClusterError, TS: now,
		Error: p.stale + " (status --fresh asks it)", Updated: p.updated}
}

// replicaPass is the walk behind StatusJSON and StatusText: the pinset from Badger with each
// member's replica beside it. A pin on the fast path that matches filter goes to the renderer
// made by newRenderer once per pass; every other pin goes to slow as an api.GlobalPinInfo, the
// general way. Without a replica, or with a member that never published one, it is
// StatusAll's fan-out into slow.
func (s *StatusService) replicaPass(ctx context.Context, filter api.TrackerStatus, slow func(api.GlobalPinInfo) error,
	newRenderer func(ps *digestParts, now time.Time) passRenderer) error {
	if s.d.Digests == nil {
		return s.statusAllAsking(ctx, filter, false, nil, slow)
	}
	ps, err := s.digestParts(ctx)
	if err != nil {
		return err
	}
	if len(ps.asked) > 0 {
		return s.replicaPages(ctx, ps, filter, slow)
	}
	r := s.d.Digests.OpenDigestReader()
	defer r.Close()
	now := nowUTC()
	render := newRenderer(ps, now)
	index := make(map[string]int, len(ps.members)) // member ID -> index in ps.members
	for i, p := range ps.members {
		index[p.key] = i
	}
	allocated := make([]bool, len(ps.members))
	parts := make([]memberPart, len(ps.members))
	lookups := make([]func(c []byte, e *statusdigest.Entry) (bool, error), len(ps.members))
	for i, p := range ps.members {
		lookups[i] = r.LookupIn(p.id)
	}
	selfID := s.d.Members.Self().String() // base58: once per pass, not per pin
	var e statusdigest.Entry              // each lookup's, in place
	return s.localPassWith(ctx, 0, ps.unpinsElsewhere(ctx, r, filter), func(lp *localPin) error {
		// A meta-pin (its scanned type names it exactly, as the local pass reads it) and a pin
		// that does not scan take the general path.
		if lp.gone || !lp.scanned || string(lp.spans.typ) == metaPinType {
			return s.slowPin(ctx, lp, ps, r, now, filter, slow)
		}
		if !markAllocated(lp.spans.allocations, selfID, index, allocated) {
			return s.slowPin(ctx, lp, ps, r, now, filter, slow)
		}
		matched := lp.st.Status.Match(filter)
		for i := range ps.members {
			p := &ps.members[i]
			switch {
			case !allocated[i]:
				parts[i].kind = partRemote
				matched = matched || api.TrackerStatusRemote.Match(filter)
			case p.stale != "":
				parts[i].kind = partStale
				matched = matched || api.TrackerStatusClusterError.Match(filter)
			default:
				found, err := lookups[i](lp.cid, &e)
				if err != nil {
					return err
				}
				part := &parts[i]
				part.kind = partEntry
				if found { // written in place: a part is about 150 bytes, 400k of them at 20 x 20k
					part.st = e.Short()
				} else {
					part.st = api.PinInfoShort{Status: api.TrackerStatusPinQueued, TS: p.updated}
				}
				part.st.Updated = p.updated
				matched = matched || part.st.Status.Match(filter)
			}
		}
		if !matched {
			return nil
		}
		return render(lp, parts)
	})
}

// slowPin is one pin of a replica pass the general way (replicaStatusAll's).
func (s *StatusService) slowPin(ctx context.Context, lp *localPin, ps *digestParts, r DigestReader, now time.Time, filter api.TrackerStatus, fn func(api.GlobalPinInfo) error) error {
	var pin api.Pin
	if err := json.Unmarshal(lp.js, &pin); err != nil {
		return fmt.Errorf("stored pin is not valid JSON: %w", err)
	}
	if pin.TypeOrData() == api.PinTypeMeta {
		return s.shardedStatus(ctx, pin.Cid, filter, fn)
	}
	g := api.GlobalPinInfo{Cid: pin.Cid, Name: pin.Name, Allocations: orEmpty(pin.Allocations), Origins: orEmpty(pin.Origins),
		Created: pin.Timestamp, Metadata: pin.Metadata, PeerMap: map[string]api.PinInfoShort{s.d.Members.Self().String(): lp.st}}
	if err := s.fillPart(&g, lp, ps, r, now); err != nil {
		return err
	}
	if !g.Match(filter) || lp.gone && allUnpinned(g) { // done everywhere: a stale index key
		return nil
	}
	return fn(g)
}

func encodeTo(g api.GlobalPinInfo, fn func([]byte) error) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	return fn(b)
}

// jsonMember is the constant JSON of one other member in a StatusJSON pass: its key, its name,
// its whole value when stale, and the parts around the status and timestamp of a plain entry
// (no error, attempts or priority: most of a settled cluster's).
type jsonMember struct {
	i                int    // in ps.members and parts
	id               string // its ID: the lines' order
	ipfs             string // its IPFS peer ID ("": none)
	key, name, stale []byte // key: `,"ID":` (no comma when first)
	head             []byte // up to the status, with the name and IPFS peer ID
	updated          []byte // from `,"updated"` (when its replica was current) to the end
	// A settled cluster's entry (pinned after one attempt, no error, no priority) around its
	// timestamp: head and status, then the rest to the end.
	pinnedHead, pinnedTail []byte
}

// appendEntry appends st, an entry of m's replica (without the peer name and IPFS peer ID:
// m's), as appendShort would, from m's constant parts. A part of a settled cluster is this
// path: a status, a timestamp and an attempt count (a pinned entry carries 1; measured
// 2026-12-05, when only a count of 0 took it, the general path was a quarter of a daemon's
// global status).
func (m *jsonMember) appendEntry(b []byte, st *api.PinInfoShort, updated time.Time, ta *api.TimeAppender) []byte {
	if len(st.IPFSAddresses) > 0 || !st.Updated.Equal(updated) {
		full := *st
		full.IPFS = m.ipfs
		return appendShortWith(b, m.name, full, ta)
	}
	if st.Status == api.TrackerStatusPinned && st.Error == "" && st.AttemptCount == 1 && !st.PriorityPin {
		b = appendTimeWith(append(b, m.pinnedHead...), st.TS, ta)
		return append(b, m.pinnedTail...)
	}
	b = append(b, m.head...)
	b = append(b, st.Status.String()...)
	b = append(b, `","timestamp":`...)
	b = appendTimeWith(b, st.TS, ta)
	b = appendShortTail(b, st)
	return append(b, m.updated...)
}

// appendShortTail appends st's error, attempt count and priority, as appendShort writes them.
func appendShortTail(b []byte, st *api.PinInfoShort) []byte {
	if st.Error == "" {
		b = append(b, `,"error":"","attempt_count":`...)
	} else {
		b = api.AppendJSONString(append(b, `,"error":`...), st.Error)
		b = append(b, `,"attempt_count":`...)
	}
	b = strconv.AppendInt(b, int64(st.AttemptCount), 10)
	if st.PriorityPin {
		return append(b, `,"priority_pin":true`...)
	}
	return append(b, `,"priority_pin":false`...)
}

// markAllocated sets allocated[i] for each member the allocations span names (every member
// when the span is empty: allocated everywhere), by one map lookup per allocation rather than
// a search of the span per member (that search was 40% of a pass at 100 members). It reports
// false when the span names anything but distinct members and self: a peer that is not a
// member, or one named twice, which the general path handles.
func markAllocated(allocs []byte, self string, index map[string]int, allocated []bool) bool {
	a := bytes.TrimSpace(allocs)
	everywhere := len(a) == 0 || string(a) == "null" || string(a) == "[]"
	for i := range allocated {
		allocated[i] = everywhere
	}
	if everywhere {
		return true
	}
	selfSeen := false
	for {
		start := bytes.IndexByte(a, '"')
		if start < 0 {
			return true
		}
		end := bytes.IndexByte(a[start+1:], '"')
		if end < 0 {
			return false
		}
		id := a[start+1 : start+1+end]
		a = a[start+end+2:]
		if string(id) == self && !selfSeen {
			selfSeen = true
			continue
		}
		i, ok := index[string(id)]
		if !ok || allocated[i] {
			return false
		}
		allocated[i] = true
	}
}

// appendShort appends st as encoding/json writes an api.PinInfoShort; quotedName, when set,
// replaces st.PeerName (already JSON).
func appendShort(b, quotedName []byte, st api.PinInfoShort) []byte {
	var ta api.TimeAppender
	return appendShortWith(b, quotedName, st, &ta)
}

// appendShortWith is appendShort with a pass's time appender.
func appendShortWith(b, quotedName []byte, st api.PinInfoShort, ta *api.TimeAppender) []byte {
	b = append(b, `{"peername":`...)
	if quotedName != nil {
		b = append(b, quotedName...)
	} else {
		b = api.AppendJSONString(b, st.PeerName)
	}
	if st.IPFS != "" {
		b = append(b, `,"ipfs_peer_id":`...)
		b = api.AppendJSONString(b, st.IPFS)
	}
	if len(st.IPFSAddresses) > 0 {
		js, _ := json.Marshal(st.IPFSAddresses)
		b = append(b, `,"ipfs_peer_addresses":`...)
		b = append(b, js...)
	}
	b = append(b, `,"status":"`...)
	b = append(b, st.Status.String()...)
	b = append(b, `","timestamp":`...)
	b = appendTimeWith(b, st.TS, ta)
	b = appendShortTail(b, &st)
	if !st.Updated.IsZero() {
		b = append(b, `,"updated":`...)
		b = appendTimeWith(b, st.Updated, ta)
	}
	return append(b, '}')
}

// appendTime appends t as time.Time.MarshalJSON writes it, or the zero time where that fails
// (a year RFC 3339 cannot hold): a status line is never dropped for its timestamp.
func appendTime(b []byte, t time.Time) []byte {
	var ta api.TimeAppender
	return appendTimeWith(b, t, &ta)
}

// appendTimeWith is appendTime with a pass's time appender.
func appendTimeWith(b []byte, t time.Time, ta *api.TimeAppender) []byte {
	if out, err := ta.AppendJSON(b, t); err == nil {
		return out
	}
	return append(b, `"0001-01-01T00:00:00Z"`...)
}
