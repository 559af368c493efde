package api

import (
	"encoding/json"
	"fmt"
	"strings"

	gocid "github.com/ipfs/go-cid"
)

// Cid is a content identifier whose JSON form is a plain string.
type Cid struct {
	gocid.Cid
}

// CidUndef is the zero Cid.
var CidUndef = Cid{gocid.Undef}

// NewCid wraps a go-cid Cid.
func NewCid(c gocid.Cid) Cid { return Cid{c} }

// DecodeCid parses a CID string, returning an ErrInvalid-wrapped error that names the input.
func DecodeCid(s string) (Cid, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return CidUndef, fmt.Errorf("%w: empty CID", ErrInvalid)
	}
	c, err := gocid.Decode(s)
	if err != nil {
		return CidUndef, fmt.Errorf("%w: %q is not a valid CID: %v", ErrInvalid, s, err)
	}
	return Cid{c}, nil
}

// CastCid reads a CID from its binary form.
func CastCid(b []byte) (Cid, error) {
	c, err := gocid.Cast(b)
	if err != nil {
		return CidUndef, fmt.Errorf("%w: bad binary CID: %v", ErrInvalid, err)
	}
	return Cid{c}, nil
}

// MarshalJSON writes the CID as a string ("" when undefined).
func (c Cid) MarshalJSON() ([]byte, error) {
	if !c.Defined() {
		return []byte(`""`), nil
	}
	// A CID's string form (base58btc or multibase) never needs JSON escaping.
	s := c.Cid.String()
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

// UnmarshalJSON reads "cid", {"/": "cid"}, "" or null.
func (c *Cid) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" || s == `""` {
		*c = CidUndef
		return nil
	}
	var str string
	if strings.HasPrefix(s, "{") {
		var obj struct {
			Slash string `json:"/"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return fmt.Errorf("%w: bad CID object: %v", ErrInvalid, err)
		}
		str = obj.Slash
	} else if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("%w: bad CID: %v", ErrInvalid, err)
	}
	if str == "" {
		*c = CidUndef
		return nil
	}
	d, err := DecodeCid(str)
	if err != nil {
		return err
	}
	*c = d
	return nil
}

// String is the CID's canonical string, or "" when undefined.
func (c Cid) String() string {
	if !c.Defined() {
		return ""
	}
	return c.Cid.String()
}
