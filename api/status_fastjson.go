package api

import (
	"bytes"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// DecodeLine decodes one GlobalPinInfo as pincluster's daemon writes it (cluster's StatusJSON:
// fixed key order, no whitespace, no escapes, no metadata), without reflection. It reports
// false, leaving g to be decoded by encoding/json, for anything else. A global status has a
// part per member for every pin (400k for 20k pins on 20 peers) and encoding/json took 90% of
// the CLI's time on it. FuzzDecodeLineAgrees checks that whatever it accepts, encoding/json
// accepts and decodes to the same value.
func (g *GlobalPinInfo) DecodeLine(b []byte) bool {
	b = bytes.TrimRight(b, " \t\r\n")
	d := lineDecoder{b: b}
	var out GlobalPinInfo
	ok := d.lit(`{"cid":`) && d.cid(&out.Cid) &&
		d.lit(`,"name":`) && d.str(&out.Name) &&
		d.lit(`,"allocations":`) && d.peers(&out.Allocations) &&
		d.lit(`,"origins":`) && d.strs(&out.Origins) &&
		d.lit(`,"created":`) && d.time(&out.Created) &&
		d.lit(`,"metadata":null,"peer_map":{`) && d.peerMap(&out.PeerMap) &&
		d.lit(`}}`) && len(d.b) == 0
	if ok {
		*g = out
	}
	return ok
}

type lineDecoder struct{ b []byte }

// lit consumes s.
func (d *lineDecoder) lit(s string) bool {
	if !bytes.HasPrefix(d.b, []byte(s)) {
		return false
	}
	d.b = d.b[len(s):]
	return true
}

// raw consumes a string made of printable ASCII other than '"' and '\', and returns its
// contents: anything else (escapes, control or non-ASCII bytes) is encoding/json's to decode.
func (d *lineDecoder) raw() (string, bool) {
	if len(d.b) == 0 || d.b[0] != '"' {
		return "", false
	}
	for i := 1; i < len(d.b); i++ {
		switch c := d.b[i]; {
		case c == '"':
			s := string(d.b[1:i])
			d.b = d.b[i+1:]
			return s, true
		case c < 0x20 || c >= 0x7f || c == '\\':
			return "", false
		}
	}
	return "", false
}

func (d *lineDecoder) str(dst *string) bool {
	s, ok := d.raw()
	*dst = s
	return ok
}

// quoted consumes a string as raw does and returns it with its quotes, for the
// UnmarshalJSON methods that cid and time hand it to (their semantics, exactly).
func (d *lineDecoder) quoted() ([]byte, bool) {
	start := d.b
	_, ok := d.raw()
	return start[:len(start)-len(d.b)], ok
}

func (d *lineDecoder) cid(dst *Cid) bool {
	q, ok := d.quoted()
	return ok && dst.UnmarshalJSON(q) == nil
}

func (d *lineDecoder) time(dst *time.Time) bool {
	q, ok := d.quoted()
	return ok && dst.UnmarshalJSON(q) == nil
}

// list consumes a JSON array of strings, calling each for every element ([] when empty).
func (d *lineDecoder) list(each func(string) bool) bool {
	if !d.lit(`[`) {
		return false
	}
	if d.lit(`]`) {
		return true
	}
	for {
		s, ok := d.raw()
		if !ok || !each(s) {
			return false
		}
		if d.lit(`]`) {
			return true
		}
		if !d.lit(`,`) {
			return false
		}
	}
}

func (d *lineDecoder) strs(dst *[]string) bool {
	out := []string{}
	ok := d.list(func(s string) bool { out = append(out, s); return true })
	*dst = out
	return ok
}

func (d *lineDecoder) peers(dst *[]peer.ID) bool {
	out := []peer.ID{}
	ok := d.list(func(s string) bool {
		var id peer.ID
		if id.UnmarshalText([]byte(s)) != nil {
			return false
		}
		out = append(out, id)
		return true
	})
	*dst = out
	return ok
}

// peerMap consumes the members' parts up to (not including) the map's closing brace.
func (d *lineDecoder) peerMap(dst *map[string]PinInfoShort) bool {
	m := map[string]PinInfoShort{}
	*dst = m
	if len(d.b) > 0 && d.b[0] == '}' {
		return true
	}
	for {
		key, ok := d.raw()
		if !ok || !d.lit(`:`) {
			return false
		}
		var p PinInfoShort
		if !d.short(&p) {
			return false
		}
		m[key] = p
		if len(d.b) > 0 && d.b[0] == '}' {
			return true
		}
		if !d.lit(`,`) {
			return false
		}
	}
}

// short consumes one PinInfoShort as cluster's appendShort writes it.
func (d *lineDecoder) short(p *PinInfoShort) bool {
	if !d.lit(`{"peername":`) || !d.str(&p.PeerName) {
		return false
	}
	if d.lit(`,"ipfs_peer_id":`) && !d.str(&p.IPFS) {
		return false
	}
	var status string
	if !d.lit(`,"status":`) || !d.str(&status) || p.Status.UnmarshalText([]byte(status)) != nil {
		return false
	}
	if !d.lit(`,"timestamp":`) || !d.time(&p.TS) || !d.lit(`,"error":`) || !d.str(&p.Error) || !d.lit(`,"attempt_count":`) {
		return false
	}
	n := 0
	for n < len(d.b) && n < 9 && '0' <= d.b[n] && d.b[n] <= '9' {
		n++
	}
	if n == 0 || (n > 1 && d.b[0] == '0') {
		return false
	}
	p.AttemptCount, _ = strconv.Atoi(string(d.b[:n]))
	d.b = d.b[n:]
	switch {
	case d.lit(`,"priority_pin":true`):
		p.PriorityPin = true
	case d.lit(`,"priority_pin":false`):
	default:
		return false
	}
	if d.lit(`,"updated":`) && !d.time(&p.Updated) {
		return false
	}
	return d.lit(`}`)
}
