package api

import (
	"encoding/json"
	"reflect"
	"testing"
)

// statusLines are lines as cluster.StatusJSON writes them, and near misses that only
// encoding/json may decode.
var statusLines = []string{
	`{"cid":"bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq","name":"","allocations":[],"origins":[],"created":"2026-12-02T14:39:05.770425317Z","metadata":null,"peer_map":{"12D3KooWLwPJGKJtbNBBRM3pJWBJ6YG4ggHQDQMZEc3T1dw69cia":{"peername":"vm","ipfs_peer_id":"12D3KooWLwPJGKJtbNBBRM3pJWBJ6YG4ggHQDQMZEc3T1dw69cia","status":"pin_queued","timestamp":"2026-12-02T14:39:13.383201918Z","error":"","attempt_count":0,"priority_pin":true},"12D3KooWB7egxuo8jbR131z66FtxqbHJmBfG4i1b4Ndgh5DFbCAV":{"peername":"12D3KooWB7egxuo8jbR131z66FtxqbHJmBfG4i1b4Ndgh5DFbCAV","status":"pin_queued","timestamp":"2026-12-02T14:53:07.041725771Z","error":"","attempt_count":0,"priority_pin":false,"updated":"2026-12-02T14:53:07.041725771Z"}}}`,
	`{"cid":"bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq","name":"n","allocations":["12D3KooWLwPJGKJtbNBBRM3pJWBJ6YG4ggHQDQMZEc3T1dw69cia"],"origins":["/ip4/1.2.3.4/tcp/4001"],"created":"2026-12-02T14:39:05+01:00","metadata":null,"peer_map":{"a":{"peername":"x","status":"pin_error","timestamp":"0001-01-01T00:00:00Z","error":"no block","attempt_count":12,"priority_pin":false}}}`,
	`{"cid":"bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq","name":"","allocations":[],"origins":[],"created":"2026-12-02T14:39:05Z","metadata":null,"peer_map":{}}` + "\n",
	`{"cid":"bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq","name":"a\"b","allocations":[],"origins":[],"created":"2026-12-02T14:39:05Z","metadata":null,"peer_map":{}}`,
	`{"cid":"bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq","name":"","allocations":[],"origins":[],"created":"2026-12-02T14:39:05Z","metadata":{"k":"v"},"peer_map":{}}`,
	`{"cid":"","name":"","allocations":[],"origins":[],"created":"2026-12-02T14:39:05Z","metadata":null,"peer_map":{}}`,
	`{"cid":"bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq","name":"","allocations":[],"origins":[],"created":"2026-12-02T14:39:05Z","metadata":null,"peer_map":{"a":{"peername":"x","status":"bogus","timestamp":"0001-01-01T00:00:00Z","error":"","attempt_count":01,"priority_pin":false}}}`,
	`{"cid":"bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq","name":"","allocations":[],"origins":[],"created":"2026-12-02T14:39:05Z","metadata":null,"peer_map":{"a":{"peername":"x","status":"pinned","timestamp":"2026-13-02T14:39:05Z","error":"","attempt_count":1,"priority_pin":false}}}`,
	`{"cid":"bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq","name":"","allocations":[],"origins":[],"created":"2026-12-02T14:39:05Z","metadata":null,"peer_map":{}}{}`,
}

// TestDecodeLine: the daemon's lines take the fast path, and every line it accepts decodes
// as encoding/json decodes it.
func TestDecodeLine(t *testing.T) {
	for i, line := range statusLines {
		var g GlobalPinInfo
		ok := g.DecodeLine([]byte(line))
		fast := i < 3 || i == 5 // 5: an empty CID, which Cid's UnmarshalJSON takes as undefined
		if fast && !ok {
			t.Errorf("line %d: the daemon's format did not take the fast path", i)
		}
		if !fast && ok {
			t.Errorf("line %d: a line for encoding/json took the fast path", i)
		}
		checkAgrees(t, []byte(line))
	}
}

func FuzzDecodeLineAgrees(f *testing.F) {
	for _, l := range statusLines {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAgrees(t, b) })
}

// checkAgrees fails when DecodeLine accepts b and encoding/json refuses it or decodes another
// value.
func checkAgrees(t *testing.T, b []byte) {
	var fast GlobalPinInfo
	if !fast.DecodeLine(b) {
		return
	}
	var slow GlobalPinInfo
	if err := json.Unmarshal(b, &slow); err != nil {
		t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, b)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("fast path decoded another value:\n fast %#v\n json %#v\nline %q", fast, slow, b)
	}
}
