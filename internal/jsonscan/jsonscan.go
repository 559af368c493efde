// Package jsonscan checks and slices JSON without decoding it: one scanner of the grammar of
// encoding/json.Valid, shared by the receivers of pin JSON (crdt: is a received op's pin
// valid JSON) and the status fast path (cluster: the fields of a stored pin, sliced in place).
// Both run once per pin on hot paths, where encoding/json's byte-at-a-time state machine and
// reflection were several percent of a peer's CPU. Like json.Valid, strings are not checked
// for valid UTF-8. Nothing here allocates.
package jsonscan

import "encoding/binary"

// Valid reports whether b is one JSON value with optional surrounding whitespace, as
// encoding/json.Valid does (a differential fuzz target compares them), with nesting bounded
// as encoding/json bounds it (10000 levels) so that the recursion stays shallow.
func Valid(b []byte) bool {
	i := Value(b, Space(b, 0), maxNesting)
	return i >= 0 && Space(b, i) == len(b)
}

// maxNesting is encoding/json's nesting limit.
const maxNesting = 10000

// Space returns the index of the first byte at or after i that is not JSON whitespace.
func Space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// String returns the index after the valid JSON string starting at b[i], or -1. Control
// characters must be escaped; an escape is one of \" \\ \/ \b \f \n \r \t or \u and four hex
// digits.
func String(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		// Eight bytes at a time while none of them is a quote, a backslash or a control
		// character: most of a pin's bytes are in strings (CIDs, peer IDs, timestamps).
		for j+8 <= len(b) && plain8(binary.LittleEndian.Uint64(b[j:])) {
			j += 8
		}
		if j >= len(b) {
			break
		}
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

// plain8 reports whether none of the eight bytes of v is '"', '\\' or below 0x20 (the
// classic SWAR tests: a byte is zero, or below n, exactly when its lane borrows into its high
// bit without having had it set).
func plain8(v uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	below := (v - ones*0x20) &^ v & highs
	return below|zero(v^(ones*'"'))|zero(v^(ones*'\\')) == 0
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// Value returns the index after the valid JSON value starting at b[i], or -1. levels is how
// many objects or arrays the value may nest (0: none), so a hostile value cannot exhaust the
// stack.
func Value(b []byte, i, levels int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		return String(b, i)
	case c == '{' || c == '[':
		return container(b, i, levels)
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return number(b, i)
	}
	return -1
}

// container scans an object or array starting at b[i].
func container(b []byte, i, levels int) int {
	if levels <= 0 {
		return -1
	}
	closer := byte(']')
	if b[i] == '{' {
		closer = '}'
	}
	i = Space(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1
	}
	for {
		if closer == '}' {
			k := String(b, i)
			if k < 0 {
				return -1
			}
			if i = Space(b, k); i >= len(b) || b[i] != ':' {
				return -1
			}
			i = Space(b, i+1)
		}
		if i = Value(b, i, levels-1); i < 0 {
			return -1
		}
		if i = Space(b, i); i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = Space(b, i+1)
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

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func number(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
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
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
