package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pincluster/pincluster/api"
)

// Status streams rendered as ipfs-cluster-ctl's text blocks (api.AppendStatusText), for GET
// /pins with Accept: text/plain. The CLI asks for them when it prints text: a global status
// has a line per member for every pin, and rendering it here, from the same stored spans and
// replica entries as the JSON passes, skips encoding 13 times the bytes of a local status as
// JSON only for the CLI to decode and print them again. Each block is what the CLI's own
// rendering of the JSON item writes (TestStatusTextMatchesJSON).

// StatusText is StatusJSON with each pin as its text block (ending in a newline), valid only
// during fn.
func (s *StatusService) StatusText(ctx context.Context, filter api.TrackerStatus, fn func(block []byte) error) error {
	var block []byte
	slow := func(g api.GlobalPinInfo) error {
		block = api.AppendStatusText(block[:0], g)
		return fn(block)
	}
	return s.replicaPass(ctx, filter, slow, func(ps *digestParts, now time.Time) passRenderer {
		selfID := s.d.Members.Self().String()
		// The other members in the order of a block's lines, each with its line's prefix and
		// its whole line when stale (when remote: remoteRuns).
		type textMember struct {
			i             int // in ps.members and parts
			label, id     string
			prefix, stale []byte
			end           []byte // its entries' line end, from their Updated on
		}
		ms := make([]textMember, len(ps.members))
		for i, p := range ps.members {
			label := api.StatusTextLabel(p.key, p.name)
			m := textMember{i: i, label: label, id: p.key, prefix: api.AppendStatusTextPrefix(nil, label),
				end: api.StatusTextLineEnd(nil, p.updated)}
			if p.stale != "" {
				m.stale = api.AppendStatusTextRest(slices.Clip(m.prefix), staleShort(p, now))
			}
			ms[i] = m
		}
		sort.Slice(ms, func(a, b int) bool { return api.StatusTextLess(ms[a].label, ms[a].id, ms[b].label, ms[b].id) })
		var selfLabel string
		var selfPrefix []byte
		selfAt := 0 // this peer's line goes before ms[selfAt] (after all of them: len(ms))
		var remote remoteRuns
		for k := range ms {
			remote.add(ms[k].i, api.AppendStatusTextRest(slices.Clip(ms[k].prefix), api.PinInfoShort{Status: api.TrackerStatusRemote, TS: now}))
		}
		var ta api.TimeAppender
		return func(lp *localPin, parts []memberPart) error {
			var err error
			if block, err = appendSpansHead(block[:0], lp.spans); err != nil {
				return err
			}
			if label := api.StatusTextLabel(selfID, lp.st.PeerName); selfPrefix == nil || label != selfLabel {
				selfLabel, selfPrefix = label, api.AppendStatusTextPrefix(selfPrefix[:0], label)
				selfAt = sort.Search(len(ms), func(k int) bool { return api.StatusTextLess(label, selfID, ms[k].label, ms[k].id) })
			}
			block = remote.appendParts(block, parts, selfAt,
				func(b []byte) []byte { return api.AppendStatusTextRestWith(append(b, selfPrefix...), lp.st, &ta, nil) },
				func(b []byte, k int, part *memberPart) []byte {
					m := &ms[k]
					if part.kind == partStale {
						return append(b, m.stale...)
					}
					// part.st.Updated is the member's (replicaPass)
					return api.AppendStatusTextRestWith(append(b, m.prefix...), part.st, &ta, m.end)
				})
			return fn(block)
		}
	})
}

// StatusLocalText is StatusLocalJSON with each pin as its text block (ending in a newline),
// valid only during fn.
func (s *StatusService) StatusLocalText(ctx context.Context, filter api.TrackerStatus, fn func(block []byte) error) error {
	selfID := s.d.Members.Self().String()
	settled := map[api.TrackerStatus][]byte{} // this peer's line for the per-pass constant statuses
	var block []byte
	return s.localPass(ctx, filter, func(lp *localPin) error {
		if !lp.scanned {
			g, err := s.localInfo(lp)
			if err != nil {
				return err
			}
			block = api.AppendStatusText(block[:0], g)
			return fn(block)
		}
		var err error
		if block, err = appendSpansHead(block[:0], lp.spans); err != nil {
			return err
		}
		line, ok := settled[lp.st.Status]
		if !ok || !lp.settled {
			line = api.AppendStatusTextLine(nil, api.StatusTextLabel(selfID, lp.st.PeerName), lp.st)
			if lp.settled {
				settled[lp.st.Status] = line
			}
		}
		return fn(append(block, line...))
	})
}

// appendSpansHead appends a block's first line from a stored pin's spans: the CID and name
// strings as they are stored when they need no unescaping (encoding/json writes a CID as its
// canonical string), decoded otherwise.
func appendSpansHead(b []byte, f pinSpans) ([]byte, error) {
	cid, ok := plainString(f.cid)
	if !ok {
		var c api.Cid
		if err := json.Unmarshal(f.cid, &c); err != nil {
			return b, fmt.Errorf("stored pin's cid: %w", err)
		}
		cid = c.String()
	}
	name, ok := plainString(f.name)
	if !ok && f.name != nil && string(f.name) != "null" {
		if err := json.Unmarshal(f.name, &name); err != nil {
			return b, fmt.Errorf("stored pin's name: %w", err)
		}
	}
	return api.AppendStatusTextHead(b, cid, name), nil
}

// plainString is the content of a JSON string with no escapes (ok false: not one).
func plainString(js []byte) (string, bool) {
	if len(js) < 2 || js[0] != '"' || js[len(js)-1] != '"' || bytes.IndexByte(js, '\\') >= 0 {
		return "", false
	}
	return string(js[1 : len(js)-1]), true
}
