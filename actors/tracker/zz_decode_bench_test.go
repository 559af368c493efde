package tracker

import (
	"encoding/json"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

var benchPinJSON = []byte(`{"cid":"bafkreicdr7yjs7vjdhx64o6rop35fbiyub4j3axjpbcxeu6nzx3hgvvwga","type":"pin","allocations":[],"max_depth":-1,"timestamp":"2026-12-02T00:56:58.931162632Z","replication_factor_min":-1,"replication_factor_max":-1,"name":"","mode":"recursive"}`)

func BenchmarkDecodeV1(b *testing.B) {
	for b.Loop() {
		var f trackedFields
		if err := json.Unmarshal(benchPinJSON, &f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeV2(b *testing.B) {
	for b.Loop() {
		var f trackedFields
		if err := jsonv2.Unmarshal(benchPinJSON, &f, jsonv2.RejectUnknownMembers(false)); err != nil {
			b.Fatal(err)
		}
	}
}
