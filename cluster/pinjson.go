package cluster

import (
	"bytes"
	"encoding/json"
)

// pinSpans are the raw JSON values of the fields of a stored pin that a status shows, sliced
// from the stored bytes without decoding them (nil: the field is absent).
type pinSpans struct {
	cid, name, allocations, origins, timestamp, metadata []byte
}

// scanPin slices the top-level fields of a stored pin's JSON object. ok is false when js is not
// a JSON object as encoding/json writes it (the caller then decodes it the slow way); the spans
// of valid input are exact JSON values. It never allocates.
func scanPin(js []byte) (f pinSpans, ok bool) {
	i := skipSpace(js, 0)
	if i >= len(js) || js[i] != '{' {
		return f, false
	}
	i = skipSpace(js, i+1)
	if i < len(js) && js[i] == '}' {
		return f, skipSpace(js, i+1) == len(js)
	}
	for {
		if i >= len(js) || js[i] != '"' {
			return f, false
		}
		kEnd := skipString(js, i)
		if kEnd < 0 {
			return f, false
		}
		key := js[i+1 : kEnd-1]
		i = skipSpace(js, kEnd)
		if i >= len(js) || js[i] != ':' {
			return f, false
		}
		i = skipSpace(js, i+1)
		vEnd := skipValue(js, i)
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
		}
		i = skipSpace(js, vEnd)
		if i >= len(js) {
			return f, false
		}
		switch js[i] {
		case ',':
			i = skipSpace(js, i+1)
		case '}':
			return f, skipSpace(js, i+1) == len(js)
		default:
			return f, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"'), or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1. It checks the
// nesting of objects and arrays and the ends of strings, not the grammar of scalars: the
// caller validates the spans it uses (json.Valid) before copying them into an output.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
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

// valid reports whether every span the status output copies is a well-formed JSON value
// of the expected kind, so a corrupt record can never break the output stream.
func (f pinSpans) valid() bool {
	str := func(b []byte) bool { return len(b) >= 2 && b[0] == '"' && json.Valid(b) }
	opt := func(b []byte, open byte) bool {
		return b == nil || string(b) == "null" || (len(b) >= 2 && b[0] == open && json.Valid(b))
	}
	return str(f.cid) && (f.name == nil || str(f.name)) && opt(f.allocations, '[') && opt(f.origins, '[') &&
		(f.timestamp == nil || str(f.timestamp)) && opt(f.metadata, '{')
}
