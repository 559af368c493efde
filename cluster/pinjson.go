package cluster

import "bytes"

// pinSpans are the raw JSON values of the fields of a stored pin that a status shows, sliced
// from the stored bytes without decoding them (nil: the field is absent).
type pinSpans struct {
	cid, name, allocations, origins, timestamp, metadata []byte
}

// maxDepth bounds the nesting scanPin accepts (a stored pin nests two levels).
const maxDepth = 32

// scanPin checks that js is one valid JSON object (the grammar of json.Valid, nesting up to
// maxDepth) and slices its top-level fields. ok is false otherwise (the caller then decodes it
// the slow way), so spans of an accepted input are always valid JSON values and can be copied
// into an output stream as they are. Keys match exactly, as encoding/json writes them. It never
// allocates.
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
		kEnd := scanString(js, i)
		if kEnd < 0 {
			return f, false
		}
		key := js[i+1 : kEnd-1]
		i = skipSpace(js, kEnd)
		if i >= len(js) || js[i] != ':' {
			return f, false
		}
		i = skipSpace(js, i+1)
		vEnd := scanValue(js, i, 1)
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

// valid reports whether the spans have the kinds a status copies: a string CID, and a string,
// array or object (or null, or absent) where the output expects one.
func (f pinSpans) valid() bool {
	kind := func(b []byte, k byte) bool { return b == nil || b[0] == k || (k != '"' && string(b) == "null") }
	return len(f.cid) > 0 && f.cid[0] == '"' && kind(f.name, '"') && kind(f.allocations, '[') && kind(f.origins, '[') &&
		kind(f.timestamp, '"') && kind(f.metadata, '{')
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the valid JSON string starting at b[i], or -1.
func scanString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if j++; j >= len(b) {
				return -1
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) || !isHex(b[j+1]) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) {
					return -1
				}
				j += 4
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// scanValue returns the index after the valid JSON value starting at b[i], or -1.
func scanValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return scanString(b, i)
	case c == '{' || c == '[':
		return scanContainer(b, i, depth)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return scanNumber(b, i)
	}
	return -1
}

// scanContainer scans an object or array starting at b[i].
func scanContainer(b []byte, i, depth int) int {
	if depth >= maxDepth {
		return -1
	}
	closer := byte(']')
	if b[i] == '{' {
		closer = '}'
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1
	}
	for {
		if closer == '}' {
			k := scanString(b, i)
			if k < 0 {
				return -1
			}
			if i = skipSpace(b, k); i >= len(b) || b[i] != ':' {
				return -1
			}
			i = skipSpace(b, i+1)
		}
		if i = scanValue(b, i, depth+1); i < 0 {
			return -1
		}
		if i = skipSpace(b, i); i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closer:
			return i + 1
		default:
			return -1
		}
	}
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanNumber scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func scanNumber(b []byte, i int) int {
	digits := func(j int) int {
		k := j
		for k < len(b) && '0' <= b[k] && b[k] <= '9' {
			k++
		}
		return k
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
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
