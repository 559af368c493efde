package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Name match modes of a PinQuery, named as the IPFS Pinning Service API names them.
const (
	MatchExact    = "exact"    // the whole name, case-sensitive
	MatchIExact   = "iexact"   // the whole name, ignoring case
	MatchPartial  = "partial"  // a substring of the name, case-sensitive
	MatchIPartial = "ipartial" // a substring of the name, ignoring case
)

// PinQuery selects pins by name and metadata (`pin ls --name`, GET /allocations?name=). Every
// condition must hold. The zero value selects every pin.
type PinQuery struct {
	Name      string            // "" means any name
	NameMatch string            // one of the Match modes; "" is MatchExact
	Meta      map[string]string // every pair must be in the pin's metadata
}

// IsZero reports whether q selects every pin.
func (q PinQuery) IsZero() bool { return q.Name == "" && len(q.Meta) == 0 }

// Validate checks the match mode and the metadata keys.
func (q PinQuery) Validate() error {
	switch q.NameMatch {
	case "", MatchExact, MatchIExact, MatchPartial, MatchIPartial:
	default:
		return fmt.Errorf("%w: name match %q: want exact, iexact, partial or ipartial", ErrInvalid, q.NameMatch)
	}
	if q.NameMatch != "" && q.NameMatch != MatchExact && q.Name == "" {
		return fmt.Errorf("%w: a name match mode needs a name", ErrInvalid)
	}
	for k := range q.Meta {
		if k == "" {
			return fmt.Errorf("%w: metadata key is empty", ErrInvalid)
		}
	}
	return nil
}

// Indexed reports whether an index lookup finds every match: exact and case-insensitive exact
// names, and metadata pairs. Partial name matches scan.
func (q PinQuery) Indexed() bool {
	switch {
	case q.Name != "":
		return q.NameMatch == "" || q.NameMatch == MatchExact || q.NameMatch == MatchIExact
	default:
		return len(q.Meta) > 0
	}
}

// Matches reports whether a pin with this name and metadata is selected.
func (q PinQuery) Matches(f PinFields) bool {
	if q.Name != "" {
		var ok bool
		switch q.NameMatch {
		case "", MatchExact:
			ok = f.Name == q.Name
		case MatchIExact:
			ok = strings.EqualFold(f.Name, q.Name)
		case MatchPartial:
			ok = strings.Contains(f.Name, q.Name)
		case MatchIPartial:
			ok = strings.Contains(strings.ToLower(f.Name), strings.ToLower(q.Name))
		}
		if !ok {
			return false
		}
	}
	for k, v := range q.Meta {
		if got, ok := f.Metadata[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// MatchesJSON is Matches for a pin's stored JSON.
func (q PinQuery) MatchesJSON(pinJSON []byte) (bool, error) {
	if q.IsZero() {
		return true, nil
	}
	f, err := PinFieldsOf(pinJSON)
	if err != nil {
		return false, err
	}
	return q.Matches(f), nil
}

// PinFields are the fields of a pin that queries and indexes look at.
type PinFields struct {
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata"`
}

// PinFieldsOf reads the name and metadata of a pin's JSON. A pin with neither, which is most
// pins, is recognised without decoding (emptyNameOnly). Anything else is decoded.
func PinFieldsOf(pinJSON []byte) (PinFields, error) {
	if len(pinJSON) == 0 || emptyNameOnly(pinJSON) {
		return PinFields{}, nil // before f: decoding into f moves it to the heap
	}
	var f PinFields
	if err := json.Unmarshal(pinJSON, &f); err != nil {
		return PinFields{}, fmt.Errorf("%w: pin JSON: %v", ErrInvalid, err)
	}
	return f, nil
}

// emptyNameOnly reports whether a decoder would find an empty name and no metadata in b. A
// decoder matches keys ignoring case and unescapes them, so it needs: no backslash anywhere (no
// escape can spell a key); then every key that the decoder would take for either field is a
// string spelling "name" or "metadata" in some ASCII case (their letters have no other Unicode
// case folds). b must hold exactly one string spelling "name", followed by :"" (inside a
// string a quote is escaped, so those bytes can only be the empty name field), and none
// spelling "metadata". Every quote is tried as a string's start (closing quotes too, which can
// only add to the counts, never miss a key). One pass over the bytes, which every peer makes
// for every pin it stores (index upkeep): bytes.IndexByte finds the quotes.
func emptyNameOnly(b []byte) bool {
	if bytes.IndexByte(b, '\\') >= 0 {
		return false
	}
	names, emptyName := 0, false
	for {
		i := bytes.IndexByte(b, '"')
		if i < 0 {
			return names == 1 && emptyName
		}
		b = b[i+1:]
		switch {
		case len(b) > 4 && b[4] == '"' && hasFold(b, "name"):
			names++
			emptyName = bytes.HasPrefix(b[5:], emptyValue)
		case len(b) > 8 && b[8] == '"' && hasFold(b, "metadata"):
			return false
		}
	}
}

var emptyValue = []byte(`:""`)

// hasFold reports whether b starts with the lower-case ASCII word w, ignoring ASCII case.
func hasFold(b []byte, w string) bool {
	if len(b) < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		if b[j]|0x20 != w[j] {
			return false
		}
	}
	return true
}

// PinRequestRef is a request of the pinning service API as the store indexes it: its created
// time, id (hex), CID and the stored JSON of the pin that holds it (the caller's to keep).
type PinRequestRef struct {
	Created time.Time
	ID      string
	Cid     Cid
	PinJSON []byte
}
