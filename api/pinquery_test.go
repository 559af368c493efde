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
