package kubo

import (
	"testing"

	"github.com/pincluster/pincluster/api"
)

// raw-leaves goes to Kubo when given, false included: left out, Kubo makes raw leaves for
// CIDv1, which an explicit --raw-leaves=false must not get.
func TestAddQueryRawLeaves(t *testing.T) {
	for _, tc := range []struct {
		p    api.AddParams
		want string // "": not sent
	}{
		{api.AddParams{CidVersion: 1}, ""},
		{api.AddParams{CidVersion: 1, RawLeaves: true}, "true"},
		{api.AddParams{CidVersion: 1, RawLeavesSet: true}, "false"},
		{api.AddParams{RawLeaves: true, RawLeavesSet: true}, "true"},
	} {
		q := addQuery(tc.p)
		if got, sent := q.Get("raw-leaves"), q.Has("raw-leaves"); got != tc.want || sent != (tc.want != "") {
			t.Errorf("%+v: raw-leaves=%q (sent %v), want %q", tc.p, got, sent, tc.want)
		}
	}
}
