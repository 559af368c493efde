package tracker

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeTracked: whatever encoding/json decodes into the tracked fields, the v2 decoder
// the tracker uses decodes to the same values.
func FuzzDecodeTracked(f *testing.F) {
	for _, s := range []string{
		`{"cid":"bafkreicdr7yjs7vjdhx64o6rop35fbiyub4j3axjpbcxeu6nzx3hgvvwga","type":"pin","allocations":[],"max_depth":-1,"timestamp":"2026-12-02T00:56:58.931162632Z","replication_factor_min":-1,"replication_factor_max":-1,"name":"","mode":"recursive"}`,
		`{"allocations":["12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf"],"mode":"direct","timestamp":"2026-01-02T03:04:05Z"}`,
		`{"Mode":"direct","MODE":"recursive","allocations":null}`,
		`{"mode":"direct","mode":"recursive","timestamp":"2026-01-02T03:04:05+02:00"}`,
		`{"allocations":["not-a-peer"]}`,
		`{"timestamp":"yesterday"}`,
		`{"name":"\xff\xfe","mode":"recursive"}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want trackedFields
		if json.Unmarshal(b, &want) != nil {
			return
		}
		got, err := decodeTracked(b)
		if err != nil {
			t.Fatalf("encoding/json reads %q, the tracker's decoder fails: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) && !(len(got.Allocations) == 0 && len(want.Allocations) == 0 && got.Mode == want.Mode && got.Timestamp.Equal(want.Timestamp)) {
			t.Fatalf("%q: got %+v, encoding/json %+v", b, got, want)
		}
	})
}
