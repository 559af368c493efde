package api

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// AppendPinJSON appends p as json.Marshal writes it, byte for byte, without reflection. Every
// single pin is encoded twice (the stored op and the reply), and encoding/json was 8% of a
// daemon's CPU under single POSTs with 16 clients. Any value encoding/json refuses (a time
// outside years 0-9999) is refused too, with time's error. FuzzAppendPinJSON holds the two
// together.
func AppendPinJSON(b []byte, p *Pin) ([]byte, error) {
	var err error
	b = append(b, `{"cid":`...)
	b = appendCidJSON(b, p.Cid)
	b = append(b, `,"type":`...)
	b = AppendJSONString(b, string(p.Type))
	b = append(b, `,"allocations":`...)
	b = appendPeersJSON(b, p.Allocations)
	b = append(b, `,"max_depth":`...)
	b = strconv.AppendInt(b, int64(p.MaxDepth), 10)
	if p.Reference != nil {
		b = append(b, `,"reference":`...)
		b = appendCidJSON(b, *p.Reference)
	}
	b = append(b, `,"timestamp":`...)
	if b, err = AppendJSONTime(b, p.Timestamp); err != nil {
		return nil, err
	}
	o := &p.PinOptions
	b = append(b, `,"replication_factor_min":`...)
	b = strconv.AppendInt(b, int64(o.ReplicationFactorMin), 10)
	b = append(b, `,"replication_factor_max":`...)
	b = strconv.AppendInt(b, int64(o.ReplicationFactorMax), 10)
	b = append(b, `,"name":`...)
	b = AppendJSONString(b, o.Name)
	b = append(b, `,"mode":`...)
	b = AppendJSONString(b, o.Mode.String())
	if len(o.UserAllocations) > 0 {
		b = append(b, `,"user_allocations":`...)
		b = appendPeersJSON(b, o.UserAllocations)
	}
	if !o.ExpireAt.IsZero() {
		b = append(b, `,"expire_at":`...)
		if b, err = AppendJSONTime(b, o.ExpireAt); err != nil {
			return nil, err
		}
	}
	if len(o.Metadata) > 0 {
		b = append(b, `,"metadata":{`...)
		keys := make([]string, 0, len(o.Metadata))
		for k := range o.Metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, k)
			b = append(b, ':')
			b = AppendJSONString(b, o.Metadata[k])
		}
		b = append(b, '}')
	}
	if o.PinUpdate.Defined() {
		b = append(b, `,"pin_update":`...)
		b = appendCidJSON(b, o.PinUpdate)
	}
	if len(o.Origins) > 0 {
		b = append(b, `,"origins":[`...)
		for i, s := range o.Origins {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendJSONString(b, s)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// pinJSONCap is room for a usual pin's JSON (about 250 bytes), so encoding one grows no slice.
const pinJSONCap = 384

// MarshalPin is json.Marshal(p) through AppendPinJSON, into a buffer sized for a usual pin.
func MarshalPin(p *Pin) ([]byte, error) {
	return AppendPinJSON(make([]byte, 0, pinJSONCap), p)
}

// appendCidJSON appends c as Cid.MarshalJSON writes it.
func appendCidJSON(b []byte, c Cid) []byte {
	return AppendJSONString(b, c.String())
}

// appendPeersJSON appends ids as encoding/json writes a []peer.ID: null when nil.
func appendPeersJSON(b []byte, ids []peer.ID) []byte {
	if ids == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, id.String())
	}
	return append(b, ']')
}

// AppendJSONString appends s as encoding/json writes a string: as is when it needs no escaping,
// else through encoding/json (HTML-safe escapes, invalid UTF-8 replaced).
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			js, _ := json.Marshal(s)
			return append(b, js...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AppendJSONTime appends t as time.Time's MarshalJSON writes it, with its error for a time
// RFC 3339 cannot hold.
func AppendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}
