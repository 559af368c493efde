package crdt

import (
	"encoding/json"
	"strings"
	"testing"
)

var validJSONCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `-12.25E-3`, `true`, `false`, `null`, ` {"a" : [1, {"b":null}] } `,
	`{"s":"\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"}`, "\"\xff\xfe\"", `{"a":1,"a":2}`,
	`{"cid":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy","type":"pin","allocations":[],"max_depth":-1,"timestamp":"2026-12-03T02:23:09.740748808Z","replication_factor_min":-1,"replication_factor_max":-1,"name":"","mode":"recursive"}`,
	// invalid
	``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{a:1}`, `{'a':1}`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`,
	`+1`, `tru`, `nul`, `truex`, `"abc`, "\"a\x01b\"", `"\x"`, `"\u12"`, `"\u12g4"`, `{"a":1}}`, `[1] [2]`, `{"a":1 "b":2}`,
	`NaN`, `Infinity`, "\x00", `"\`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
}

// validJSON answers as encoding/json.Valid does.
func TestValidJSONMatchesStdlib(t *testing.T) {
	for _, c := range validJSONCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.60q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

// FuzzValidJSON: pin JSON in a received batch is outside input; validJSON must agree with
// encoding/json.Valid on anything.
func FuzzValidJSON(f *testing.F) {
	for _, c := range validJSONCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	pin := []byte(validJSONCases[14])
	b.Run("validJSON", func(b *testing.B) {
		b.SetBytes(int64(len(pin)))
		for b.Loop() {
			validJSON(pin)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(pin)))
		for b.Loop() {
			json.Valid(pin)
		}
	})
}
