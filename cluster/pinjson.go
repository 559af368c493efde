package cluster

import (
	"bytes"

	"github.com/pincluster/pincluster/internal/jsonscan"
)

// pinSpans are the raw JSON values of the fields of a stored pin that a status shows, sliced
// from the stored bytes without decoding them (nil: the field is absent).
type pinSpans struct {
	cid, name, allocations, origins, timestamp, metadata []byte
	typ                                                  []byte // "type": only read, never copied
}

// maxDepth bounds the nesting scanPin accepts (a stored pin nests two levels).
const maxDepth = 32

// scanPin checks that js is one valid JSON object (the grammar of json.Valid, nesting up to
// maxDepth; internal/jsonscan) and slices its top-level fields. ok is false otherwise (the caller then decodes it
// the slow way), so spans of an accepted input are always valid JSON values and can be copied
// into an output stream as they are. Keys match exactly, as encoding/json writes them. It never
// allocates.
func scanPin(js []byte) (f pinSpans, ok bool) {
	i := jsonscan.Space(js, 0)
	if i >= len(js) || js[i] != '{' {
		return f, false
	}
	i = jsonscan.Space(js, i+1)
	if i < len(js) && js[i] == '}' {
		return f, jsonscan.Space(js, i+1) == len(js)
	}
	for {
		kEnd := jsonscan.String(js, i)
		if kEnd < 0 {
			return f, false
		}
		key := js[i+1 : kEnd-1]
		i = jsonscan.Space(js, kEnd)
		if i >= len(js) || js[i] != ':' {
			return f, false
		}
		i = jsonscan.Space(js, i+1)
		vEnd := jsonscan.Value(js, i, maxDepth-1) // the object is the first level
		if vEnd < 0 {
			return f, false
		}
		v := js[i:vEnd]
		switch string(key) { // no allocation: the compiler compares in place
		case "cid":
			f.cid = v
		case "name":
			f.name = v
		case "allocations":
			f.allocations = v
		case "origins":
			f.origins = v
		case "timestamp":
			f.timestamp = v
		case "metadata":
			f.metadata = v
		case "type":
			f.typ = v
		}
		i = jsonscan.Space(js, vEnd)
		if i >= len(js) {
			return f, false
		}
		switch js[i] {
		case ',':
			i = jsonscan.Space(js, i+1)
		case '}':
			return f, jsonscan.Space(js, i+1) == len(js)
		default:
			return f, false
		}
	}
}

// valid reports whether the spans have the kinds a status copies: a string CID, and a string,
// array or object (or null, or absent) where the output expects one.
func (f pinSpans) valid() bool {
	kind := func(b []byte, k byte) bool { return b == nil || b[0] == k || (k != '"' && string(b) == "null") }
	return len(f.cid) > 0 && f.cid[0] == '"' && kind(f.name, '"') && kind(f.allocations, '[') && kind(f.origins, '[') &&
		kind(f.timestamp, '"') && kind(f.metadata, '{')
}

// allocatedIn reports whether the allocations span names id (quoted), or is empty (every
// peer). Peer IDs are base58 or base32 and never need escaping.
func allocatedIn(allocs []byte, quotedID []byte) bool {
	a := bytes.TrimSpace(allocs)
	if len(a) == 0 || string(a) == "null" || string(a) == "[]" {
		return true
	}
	return bytes.Contains(a, quotedID)
}
