package cluster

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// FuzzScanPin: scanPin accepts exactly the JSON objects json.Valid accepts (up to its nesting
// bound), the spans of what it accepts are valid JSON, and on a stored pin as encoding/json
// writes it the spans hold the pin's values and the allocation test agrees with
// api.Pin.AllocatedTo.
func FuzzScanPin(f *testing.F) {
	self, other := testPeer(f), testPeer(f)
	p := api.NewPin(testCid(f, "a"), api.PinOptions{Name: "n\"\\\u2028", Metadata: map[string]string{"k": "}]"}, Origins: []string{"/ip4/1.2.3.4"}})
	p.Allocations, p.Timestamp = []peer.ID{other, self}, time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, v := range []api.Pin{p, api.NewPin(testCid(f, "b"), api.PinOptions{})} {
		js, _ := json.Marshal(v)
		f.Add(js)
	}
	f.Add([]byte(`{"cid":"x","allocations":[],"name":"a\"}"}`))
	f.Add([]byte(`{"cid":1}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`{"a":[{"b":"]"}]}`))
	quoted := []byte(`"` + self.String() + `"`)
	f.Fuzz(func(t *testing.T, js []byte) {
		spans, ok := scanPin(js)
		trimmed := bytes.TrimLeft(js, " \t\r\n")
		isObject := json.Valid(js) && len(trimmed) > 0 && trimmed[0] == '{'
		if ok != isObject && !(isObject && bytes.Count(js, []byte("{"))+bytes.Count(js, []byte("[")) >= maxDepth) {
			t.Fatalf("scanPin(%q) = %v, json.Valid object = %v", js, ok, isObject)
		}
		if !ok || !spans.valid() {
			return
		}
		for _, s := range [][]byte{spans.cid, spans.name, spans.allocations, spans.origins, spans.timestamp, spans.metadata} {
			if s != nil && !json.Valid(s) {
				t.Fatalf("span %q of %q is not JSON", s, js)
			}
		}
		var pin api.Pin
		if json.Unmarshal(js, &pin) != nil {
			return
		}
		if canon, err := json.Marshal(pin); err != nil || !bytes.Equal(canon, js) {
			return // only stored pins as the peer writes them must agree field for field
		}
		var name string
		if spans.name != nil && (json.Unmarshal(spans.name, &name) != nil || name != pin.Name) {
			t.Fatalf("name span %q, pin name %q", spans.name, pin.Name)
		}
		if allocatedIn(spans.allocations, quoted) != pin.AllocatedTo(self) {
			t.Fatalf("allocatedIn(%q) disagrees with AllocatedTo", spans.allocations)
		}
	})
}
