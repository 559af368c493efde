package pinsvc

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/api"
)

// Pin is the spec's Pin object: what a client asks to pin.
type Pin struct {
	Cid     string            `json:"cid"`
	Name    string            `json:"name,omitempty"`
	Origins []string          `json:"origins,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
}

// PinStatus is the spec's PinStatus object: a request and where it stands.
type PinStatus struct {
	RequestID string            `json:"requestid"`
	Status    string            `json:"status"`
	Created   time.Time         `json:"created"`
	Pin       Pin               `json:"pin"`
	Delegates []string          `json:"delegates"`
	Info      map[string]string `json:"info,omitempty"`
}

// PinResults is the body of GET /pins.
type PinResults struct {
	Count   int         `json:"count"`
	Results []PinStatus `json:"results"`
}

// The statuses of the spec.
const (
	StatusQueued  = "queued"
	StatusPinning = "pinning"
	StatusPinned  = "pinned"
	StatusFailed  = "failed"
)

// Metadata keys of the pins that hold requests.
const (
	// requestKeyPrefix + id holds a request (persistence.RequestMetaPrefix: the store indexes
	// these keys).
	requestKeyPrefix = api.RequestMetaPrefix
	// markerKey = "1" marks a pin the pinning service created: it is unpinned when its last
	// request goes. A pin that existed before the first request stays.
	markerKey = api.RequestMarkerKey
)

// Limits of a request beyond the spec's.
const (
	maxOrigins = 20 // the spec's maxItems
	maxCids    = 10 // cid filter: the spec's maxItems
	// maxEntryBytes bounds one request's stored entry (name, meta, origins), a quarter of a
	// pin's metadata budget (api.MaxMetadataBytes), so that a CID holds at least four.
	maxEntryBytes = api.MaxMetadataBytes / 4
)

// entry is a request as stored in its pin's metadata (compact JSON).
type entry struct {
	Name    string            `json:"name,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Origins []string          `json:"origins,omitempty"`
	Created time.Time         `json:"created"`
}

func (e entry) marshal() string {
	e.Created = e.Created.UTC()
	b, _ := json.Marshal(e) // strings, a map of strings and a time: cannot fail
	return string(b)
}

// entryOf reads request id from a pin's metadata.
func entryOf(meta map[string]string, id string) (entry, bool) {
	v, ok := meta[requestKeyPrefix+id]
	if !ok {
		return entry{}, false
	}
	var e entry
	if err := json.Unmarshal([]byte(v), &e); err != nil || e.Created.IsZero() {
		return entry{}, false
	}
	e.Created = e.Created.UTC()
	return e, true
}

// hasRequests reports whether meta holds a request.
func hasRequests(meta map[string]string) bool {
	for k := range meta {
		if strings.HasPrefix(k, requestKeyPrefix) {
			return true
		}
	}
	return false
}

// newRequestID is 128 random bits in lower-case hex (what persistence indexes).
func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("pinsvc: crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// validRequestID: 32 lower-case hex digits.
func validRequestID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// createdClock hands out strictly increasing creation times on this peer, so that paging by
// `before` never splits two requests of this peer with the same time.
type createdClock struct {
	mu   sync.Mutex
	last time.Time
	now  func() time.Time
}

func (c *createdClock) next() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now().UTC().Round(0)
	if !t.After(c.last) {
		t = c.last.Add(time.Nanosecond)
	}
	c.last = t
	return t
}

// check validates a posted Pin; errors wrap api.ErrInvalid. Origins are hints: past the
// spec's 20, or past what fits in the request's share of the pin's metadata, the last ones are
// dropped rather than the request refused (Kubo sends every address of its node).
func (p *Pin) check() (api.Cid, error) {
	if p.Cid == "" {
		return api.CidUndef, fmt.Errorf("%w: pin.cid is required", api.ErrInvalid)
	}
	c, err := api.DecodeCid(p.Cid)
	if err != nil {
		return api.CidUndef, err
	}
	if len(p.Name) > api.MaxPinNameBytes {
		return api.CidUndef, fmt.Errorf("%w: pin.name is %d bytes, over the limit of %d", api.ErrInvalid, len(p.Name), api.MaxPinNameBytes)
	}
	if !utf8.ValidString(p.Name) {
		return api.CidUndef, fmt.Errorf("%w: pin.name is not valid UTF-8", api.ErrInvalid)
	}
	for _, o := range p.Origins {
		if _, err := ma.NewMultiaddr(o); err != nil {
			return api.CidUndef, fmt.Errorf("%w: pin.origins: %q is not a multiaddress: %v", api.ErrInvalid, o, err)
		}
	}
	for k, v := range p.Meta {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return api.CidUndef, fmt.Errorf("%w: pin.meta: keys must be non-empty and keys and values valid UTF-8", api.ErrInvalid)
		}
	}
	if n := len(entry{Name: p.Name, Meta: p.Meta}.marshal()); n > maxEntryBytes {
		return api.CidUndef, fmt.Errorf("%w: the request's name and meta take %d bytes, over the limit of %d", api.ErrInvalid, n, maxEntryBytes)
	}
	var origins []string
	for _, o := range p.Origins {
		if !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	if len(origins) > maxOrigins {
		origins = origins[:maxOrigins]
	}
	for len(origins) > 0 && len(entry{Name: p.Name, Meta: p.Meta, Origins: origins}.marshal()) > maxEntryBytes {
		origins = origins[:len(origins)-1]
	}
	p.Origins = origins
	return c, nil
}

// withRequest returns the options of pin cur (found false: not pinned) with request id added.
func withRequest(cur api.Pin, found bool, id string, e entry) api.PinOptions {
	var opts api.PinOptions
	if found {
		opts = cur.PinOptions
		opts.Metadata = maps.Clone(cur.Metadata)
		opts.PinUpdate = api.CidUndef
		for _, o := range e.Origins {
			if !slices.Contains(opts.Origins, o) && len(opts.Origins) < maxOrigins {
				opts.Origins = append(slices.Clone(opts.Origins), o)
			}
		}
	} else {
		opts = api.PinOptions{Name: e.Name, Origins: slices.Clone(e.Origins), Metadata: map[string]string{markerKey: "1"}}
	}
	if opts.Metadata == nil {
		opts.Metadata = map[string]string{}
	}
	opts.Metadata[requestKeyPrefix+id] = e.marshal()
	return opts
}

// withoutRequest returns the options of cur without request id, and whether the pin should go
// instead (the service created it and no request is left).
func withoutRequest(cur api.Pin, id string) (opts api.PinOptions, unpin bool) {
	opts = cur.PinOptions
	opts.PinUpdate = api.CidUndef
	opts.Metadata = maps.Clone(cur.Metadata)
	delete(opts.Metadata, requestKeyPrefix+id)
	return opts, opts.Metadata[markerKey] == "1" && !hasRequests(opts.Metadata)
}
