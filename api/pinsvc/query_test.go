package pinsvc

import (
	"net/url"
	"slices"
	"testing"
)

// FuzzParseQuery: any query string parses or is refused with api.ErrInvalid, never panics,
// and what parses is within the spec's bounds.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "limit=10", "status=queued,pinning", "cid=bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
		"name=a&match=ipartial", "before=2020-07-27T17:32:28.276Z&after=2020-07-27T17:32:28Z", `meta={"a":"b"}`,
		"limit=0", "status=", "meta=null", "cid=,", "before=2020-07-27T17:32:28+02:00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			return
		}
		if q.Limit < 1 || q.Limit > maxLimit || len(q.Cids) > maxCids || len(q.Name) > 255 || len(q.Status) == 0 {
			t.Fatalf("%q parsed out of bounds: %+v", raw, q)
		}
		for _, s := range q.Status {
			if !slices.Contains(allStatuses, s) {
				t.Fatalf("%q: status %q", raw, s)
			}
		}
		for _, c := range q.Cids {
			if !c.Defined() {
				t.Fatalf("%q: undefined CID", raw)
			}
		}
	})
}
