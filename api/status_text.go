package api

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The text rendering of a status: ipfs-cluster-ctl's block per pin, "<cid> | <name>:" then a
// line per peer sorted by label (peer name, else ID), then ID. It lives here, not in the CLI,
// because the daemon renders it too: GET /pins with Accept: text/plain streams these blocks, so
// that a global status (a line per member for every pin) is written once by the server instead
// of being encoded as JSON, decoded by the CLI and written again.

// StatusTextType is the media type of a status stream in text.
const StatusTextType = "text/plain; charset=utf-8"

// StatusNDJSONType is the media type of a status stream of JSON lines that the daemon declares
// canonical: one compact object per line, as encoding/json writes it, so a client may copy
// the lines instead of decoding and encoding them again (pincluster status --enc json).
const StatusNDJSONType = "application/x-ndjson"

// AppendStatusText appends g's text block to b.
func AppendStatusText(b []byte, g GlobalPinInfo) []byte {
	b = AppendStatusTextHead(b, g.Cid.String(), g.Name)
	type member struct {
		label, id string
		p         PinInfoShort
	}
	ms := make([]member, 0, len(g.PeerMap))
	for id, p := range g.PeerMap {
		ms = append(ms, member{StatusTextLabel(id, p.PeerName), id, p})
	}
	sort.Slice(ms, func(i, j int) bool { return StatusTextLess(ms[i].label, ms[i].id, ms[j].label, ms[j].id) })
	for _, m := range ms {
		b = AppendStatusTextLine(b, m.label, m.p)
	}
	return b
}

// AppendStatusTextHead appends a block's first line.
func AppendStatusTextHead(b []byte, cid, name string) []byte {
	b = append(b, cid...)
	if name != "" {
		b = append(b, " | "...)
		b = append(b, name...)
	}
	return append(b, ":\n"...)
}

// StatusTextLabel is how a peer is named in a block: its name, else its ID.
func StatusTextLabel(id, name string) string {
	if name != "" {
		return name
	}
	return id
}

// StatusTextLess is the order of a block's lines: by label, then ID.
func StatusTextLess(labelA, idA, labelB, idB string) bool {
	if labelA != labelB {
		return labelA < labelB
	}
	return idA < idB
}

// AppendStatusTextLine appends one peer's line of a block.
func AppendStatusTextLine(b []byte, label string, p PinInfoShort) []byte {
	return AppendStatusTextRest(AppendStatusTextPrefix(b, label), p)
}

// AppendStatusTextPrefix appends the start of a peer's line, up to its status: constant per
// peer, so a pass over many pins can build it once.
func AppendStatusTextPrefix(b []byte, label string) []byte {
	b = append(b, "    > "...)
	b = append(b, label...)
	for n := utf8.RuneCountInString(label); n < 20; n++ { // fmt's %-20s
		b = append(b, ' ')
	}
	return append(b, " : "...)
}

// AppendStatusTextRest appends the rest of a peer's line, from its status to the newline.
func AppendStatusTextRest(b []byte, p PinInfoShort) []byte {
	var ta TimeAppender
	return AppendStatusTextRestWith(b, p, &ta, nil)
}

// AppendStatusTextRestWith is AppendStatusTextRest for a pass over many pins: ta writes the
// timestamps, and end, when not nil, is the line's end from p.Updated on as
// StatusTextLineEnd wrote it (constant per peer in a pass: formatting it per part was a
// tenth of a global status in text at 20 peers).
func AppendStatusTextRestWith(b []byte, p PinInfoShort, ta *TimeAppender, end []byte) []byte {
	b = appendUpper(b, p.Status.String())
	b = append(b, " | "...)
	b = ta.AppendText(b, p.TS)
	b = append(b, " | Attempts: "...)
	b = strconv.AppendInt(b, int64(p.AttemptCount), 10)
	b = append(b, " | Priority: "...)
	b = strconv.AppendBool(b, p.PriorityPin)
	if p.Error != "" {
		b = append(b, " | "...)
		b = append(b, strings.ReplaceAll(strings.TrimSpace(p.Error), "\n", " ")...)
	}
	if end != nil {
		return append(b, end...)
	}
	return StatusTextLineEnd(b, p.Updated)
}

// StatusTextLineEnd appends the end of a peer's line whose part was current at updated (zero:
// not from a replica), newline included.
func StatusTextLineEnd(b []byte, updated time.Time) []byte {
	if !updated.IsZero() { // from the replica of the peer's status digest: how fresh
		b = append(b, " | Updated: "...)
		b = appendTimeText(b, updated)
	}
	return append(b, '\n')
}

// appendTimeText appends t as time.Time.MarshalText writes it (nothing for a year it refuses).
func appendTimeText(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		return b
	}
	return t.AppendFormat(b, time.RFC3339Nano)
}

// appendUpper appends s in upper case (statuses are ASCII).
func appendUpper(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}
