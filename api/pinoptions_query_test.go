package api

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testOrigin = "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWGbmjg3MDUYFosLNPbE1jKkv5fzKHD7wyGDa1P95iKMjF"

// Origins are multiaddresses that name their peer, as IPFS Cluster requires of the query.
func TestOriginsFromQuery(t *testing.T) {
	now := time.Now()
	for _, bad := range []string{"bogus", "/ip4/1.2.3.4/tcp/4001", testOrigin + ",bogus"} {
		_, err := PinOptionsFromQuery(url.Values{"origins": {bad}}, now)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "origins: ") {
			t.Errorf("origins=%s: %v", bad, err)
		}
	}
	o, err := PinOptionsFromQuery(url.Values{"origins": {testOrigin + "," + testOrigin}}, now)
	if err != nil || len(o.Origins) != 2 || o.Origins[0] != testOrigin {
		t.Fatalf("good origins: %v, %v", o.Origins, err)
	}
}

// FuzzPinOptionsFromQuery: any query decodes or is refused with ErrInvalid, never panics, and
// what decodes stays within the limits and survives its own encoding.
func FuzzPinOptionsFromQuery(f *testing.F) {
	f.Add("name=web&replication-min=1&replication-max=2&meta-team=a&mode=direct&expire-in=1h")
	f.Add("origins=" + url.QueryEscape(testOrigin) + "&user-allocations=12D3KooWGbmjg3MDUYFosLNPbE1jKkv5fzKHD7wyGDa1P95iKMjF")
	f.Add("replication-min=-1&replication-max=-1&pin-update=bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq")
	f.Add("origins=bogus&expire-at=2030-01-01T00:00:00Z")
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		o, err := PinOptionsFromQuery(q, now)
		if err != nil {
			return
		}
		if err := o.ValidateLimits(); err != nil {
			t.Fatalf("decoded options over the limits: %v", err)
		}
		back, err := PinOptionsFromQuery(o.ToQuery(), now)
		if err != nil {
			t.Fatalf("options %+v do not decode from their own query: %v", o, err)
		}
		if !reflect.DeepEqual(back.Origins, o.Origins) || back.Name != o.Name {
			t.Fatalf("round trip: %+v became %+v", o, back)
		}
	})
}
