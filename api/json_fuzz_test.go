package api

import (
	"encoding/json"
	"testing"
)

// FuzzPinJSON: pins (and the metrics that arrive over pubsub) decode from any bytes without
// panicking, and a decoded pin re-encodes to JSON that decodes to the same CID.
func FuzzPinJSON(f *testing.F) {
	f.Add([]byte(`{"cid":"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o","type":"pin","allocations":[],"max_depth":-1,"replication_factor_min":-1,"replication_factor_max":-1,"mode":"recursive"}`))
	f.Add([]byte(`{"cid":{"/":"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"},"mode":"direct"}`))
	f.Add([]byte(`[{"name":"ping","peer":"12D3KooWGbmjg3MDUYFosLNPbE1jKkv5fzKHD7wyGDa1P95iKMjF","value":"","expire":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ms []Metric
		_ = json.Unmarshal(data, &ms)
		var p Pin
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("re-encoding a decoded pin: %v", err)
		}
		var back Pin
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("decoding a re-encoded pin: %v\n%s", err, b)
		}
		if back.Cid != p.Cid {
			t.Fatalf("CID changed in a round trip: %v -> %v", p.Cid, back.Cid)
		}
	})
}
