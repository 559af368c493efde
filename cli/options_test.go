package cli

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	cases := []struct {
		in, cid, path string
		bad           bool
	}{
		{in: cidA, cid: cidA},
		{in: "/ipfs/" + cidA, cid: cidA},
		{in: "/ipfs/" + cidA + "/", cid: cidA},
		{in: "/ipfs/" + cidA + "/a/b", path: "/ipfs/" + cidA + "/a/b"},
		{in: cidA + "/a", path: "/ipfs/" + cidA + "/a"},
		{in: "/ipns/example.com/x", path: "/ipns/example.com/x"},
		{in: "/ipld/" + cidB + "/x", path: "/ipld/" + cidB + "/x"},
		{in: "notacid", bad: true},
		{in: "/ipfs/notacid/x", bad: true},
		{in: "/ipns/", bad: true},
		{in: "/foo/bar", bad: true},
	}
	for _, tc := range cases {
		got, err := parseTarget(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: want error, got %+v", tc.in, got)
			}
			continue
		}
		if err != nil || got.cid.String() != tc.cid || got.path != tc.path {
			t.Errorf("%s: got cid=%q path=%q err=%v", tc.in, got.cid, got.path, err)
		}
	}
}

func TestCheckReplication(t *testing.T) {
	for _, tc := range []struct {
		mn, mx int
		ok     bool
	}{{0, 0, true}, {-1, -1, true}, {1, 3, true}, {2, 0, true}, {3, 2, false}, {-2, 1, false}, {-1, 2, false}, {2, -1, false}} {
		if err := checkReplication(tc.mn, tc.mx); (err == nil) != tc.ok {
			t.Errorf("min=%d max=%d: %v", tc.mn, tc.mx, err)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	f.Add("/ipfs/" + cidA + "/a")
	f.Add(cidA)
	f.Add("/ipns/x")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTarget(s)
		if err != nil {
			return
		}
		if !got.cid.Defined() && got.path == "" {
			t.Fatalf("%q: neither cid nor path", s)
		}
		if got.path != "" && !strings.HasPrefix(got.path, "/ip") {
			t.Fatalf("%q: path %q", s, got.path)
		}
	})
}

func FuzzMetadata(f *testing.F) {
	f.Add("k=v")
	f.Add("=")
	f.Fuzz(func(t *testing.T, s string) {
		md, err := parseMetadata([]string{s})
		if err == nil && len(md) != 1 {
			t.Fatalf("%q: %v", s, md)
		}
	})
}
