package api

import (
	"encoding/json"
	"maps"
	"testing"
)

// PinFieldsOf's shortcut for pins without name or metadata agrees with a full decode.
func FuzzPinFieldsOf(f *testing.F) {
	for _, s := range []string{
		`{"cid":"x","name":"","mode":"recursive"}`,
		`{"name":"","name":"x"}`,
		`{"name":"a","metadata":{"k":"v"}}`,
		`{"name":"","metadata":{"name":""}}`,
		`{"origins":["\"name\":\"\""],"name":"y"}`,
		`{"name" : ""}`,
		`{"name":"","Name":"x"}`,
		`{"name":"","n\u0061me":"x"}`,
		`{"name":"","name" :"x"}`,
		`{"name":"","METADATA":{"a":"b"}}`,
		`{"NAME":"","mode":"name"}`,
		`{"name":"x","Name":""}`,
		`{"nAmE":"","origins":["metadata"]}`,
		`{"name":""`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		var want PinFields
		if json.Unmarshal(js, &want) != nil {
			return
		}
		got, err := PinFieldsOf(js)
		if err != nil {
			t.Fatalf("%s: %v, but it decodes", js, err)
		}
		if got.Name != want.Name || !maps.Equal(got.Metadata, want.Metadata) {
			t.Fatalf("%s: fields %+v, a decode gives %+v", js, got, want)
		}
	})
}

// BenchmarkPinFieldsOf is the shortcut's cost for a pin without name or metadata (most pins),
// which partial-name lookups and the index upkeep pay once per pin.
func BenchmarkPinFieldsOf(b *testing.B) {
	js := []byte(`{"cid":"bafkreiaaaafzmjecf3z7a6fvkuod6ie5awtkksjbhz5qrvb5jgkg5ck3jm","type":"pin","allocations":[],"max_depth":-1,"timestamp":"2026-12-01T16:36:01.632626285Z","replication_factor_min":-1,"replication_factor_max":-1,"name":"","mode":"recursive"}`)
	for b.Loop() {
		if _, err := PinFieldsOf(js); err != nil {
			b.Fatal(err)
		}
	}
}
