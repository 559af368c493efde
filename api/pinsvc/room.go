package pinsvc

import (
	"fmt"
	"strings"

	"github.com/pincluster/pincluster/api"
)

// metaUse is what a pin's metadata takes against its bounds (api.MaxMetadataKeys and
// api.MaxMetadataBytes, keys and values together), this API's requests apart from the rest.
type metaUse struct {
	keys, bytes        int
	requests, reqBytes int
	others, otherBytes int // keys set by whoever pinned it (the REST API, the proxy, an add)
}

func useOf(meta map[string]string) metaUse {
	var u metaUse
	for k, v := range meta {
		n := len(k) + len(v)
		u.keys++
		u.bytes += n
		switch {
		case strings.HasPrefix(k, requestKeyPrefix):
			u.requests++
			u.reqBytes += n
		case k != markerKey:
			u.others++
			u.otherBytes += n
		}
	}
	return u
}

// full reports whether the use is over a bound.
func (u metaUse) full() bool {
	return u.keys > api.MaxMetadataKeys || u.bytes > api.MaxMetadataBytes
}

// errMetadataFull says why c's pin cannot take the request: which bound the metadata would pass
// (next, the metadata with the request), what it holds now (cur), and what to do. It wraps
// errRequestLimit (a 409): the request is well formed, the pin has no room for it.
func errMetadataFull(c api.Cid, cur, next metaUse) error {
	var over []string
	if next.keys > api.MaxMetadataKeys {
		over = append(over, fmt.Sprintf("%d keys, over the limit of %d", next.keys, api.MaxMetadataKeys))
	}
	if next.bytes > api.MaxMetadataBytes {
		over = append(over, fmt.Sprintf("%d bytes of keys and values, over the limit of %d", next.bytes, api.MaxMetadataBytes))
	}
	hint := "remove some of its requests"
	if cur.others > 0 {
		hint += ", or re-pin it with less metadata through the REST API"
	}
	return fmt.Errorf("%w: the pin of %s has no room for this request: with it, its metadata would have %s; it holds %s and %d bytes now (%s of this API taking %d bytes, %s taking %d bytes): %s",
		errRequestLimit, c, strings.Join(over, " and "), plural(cur.keys, "key"), cur.bytes, plural(cur.requests, "request"), cur.reqBytes,
		plural(cur.others, "other key"), cur.otherBytes, hint)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
