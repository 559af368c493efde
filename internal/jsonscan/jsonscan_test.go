package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
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

// Valid answers as encoding/json.Valid does.
func TestValidMatchesStdlib(t *testing.T) {
	// String skips eight plain bytes at a time: a quote, a backslash, a control or a high byte
	// at every offset of strings around that width.
	cases := append([]string(nil), validCases...)
	for n := 6; n <= 18; n++ {
		for at := 0; at < n; at++ {
			for _, b := range []string{`"`, `\`, `\n`, `\u00e9`, `\x`, "\x01", "\x1f", " ", "\x7f", "\x80", "\xff"} {
				body := strings.Repeat("a", at) + b + strings.Repeat("b", n-at-1)
				cases = append(cases, `"`+body+`"`, `["`+body+`",1]`)
			}
		}
	}
	for _, c := range cases {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("Valid(%.60q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

// FuzzValid: pin JSON in a received batch is outside input; Valid must agree with
// encoding/json.Valid on anything.
func FuzzValid(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	pin := []byte(validCases[14])
	b.Run("jsonscan.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(pin)))
		for b.Loop() {
			Valid(pin)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(pin)))
		for b.Loop() {
			json.Valid(pin)
		}
	})
}

// A CID string: eight bytes at a time.
func BenchmarkStringCID(b *testing.B) {
	s := []byte(`"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"`)
	for b.Loop() {
		String(s, 0)
	}
}
