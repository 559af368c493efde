package ingest

import (
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// padded is an NDJSON line naming cidA whose content is n bytes long.
func padded(t *testing.T, n int) string {
	l := `{"cid":"` + cidA + `","name":""}`
	if n < len(l) {
		t.Fatalf("padded: %d bytes is too short", n)
	}
	return l[:len(l)-2] + strings.Repeat("x", n-len(l)) + `"}`
}

// Table of the reader's edge cases: a byte order mark, keys encoding/json would take though
// they are not ours, and the line limit with either line ending.
func TestReaderEdges(t *testing.T) {
	long := strings.Repeat("#", MaxLineBytes+10)
	cases := []struct {
		name, input string
		want        []int // line numbers returned
		bad         []int // of which bad
		errHas      string
	}{
		{name: "byte order mark at the start", input: "\xef\xbb\xbf" + cidA + "\n" + cidB + "\n", want: []int{1, 2}},
		{name: "byte order mark before a comment", input: "\xef\xbb\xbf# cids\n" + cidB + "\n", want: []int{2}},
		{name: "byte order mark alone", input: "\xef\xbb\xbf", want: nil},
		{name: "byte order mark later is not skipped", input: cidA + "\n\xef\xbb\xbf" + cidB + "\n", want: []int{1, 2}, bad: []int{2}},
		{name: "key in upper case", input: `{"cid":"` + cidA + `","NAME":"upper"}` + "\n", want: []int{1}, bad: []int{1}, errHas: `unknown field "NAME"`},
		{name: "key in mixed case", input: `{"Cid":"` + cidA + `"}` + "\n", want: []int{1}, bad: []int{1}, errHas: `unknown field "Cid"`},
		{name: "duplicate cid", input: `{"cid":"` + cidA + `","cid":"` + cidB + `"}` + "\n", want: []int{1}, bad: []int{1}, errHas: `duplicate field "cid"`},
		{name: "duplicate name", input: `{"cid":"` + cidA + `","name":"a","metadata":{"k":"v"},"name":"b"}` + "\n", want: []int{1}, bad: []int{1}, errHas: `duplicate field "name"`},
		{name: "escaped key is the same key", input: `{"cid":"` + cidA + `","n\u0061me":"a"}` + "\n", want: []int{1}},
		{name: "64 KiB line with LF", input: padded(t, MaxLineBytes) + "\n" + cidB + "\n", want: []int{1, 2}},
		{name: "64 KiB line with CRLF", input: padded(t, MaxLineBytes) + "\r\n" + cidB + "\r\n", want: []int{1, 2}},
		{name: "64 KiB last line with CR", input: padded(t, MaxLineBytes) + "\r", want: []int{1}},
		{name: "64 KiB + 1 with CRLF", input: padded(t, MaxLineBytes+1) + "\r\n" + cidB + "\n", want: []int{1, 2}, bad: []int{1}, errHas: "longer than"},
		{name: "64 KiB + 1 with LF", input: padded(t, MaxLineBytes+1) + "\n" + cidB + "\n", want: []int{1, 2}, bad: []int{1}, errHas: "longer than"},
		{name: "64 KiB + 1 last line", input: cidB + "\n" + padded(t, MaxLineBytes+1), want: []int{1, 2}, bad: []int{2}, errHas: "longer than"},
		{name: "long comment", input: long + "\n" + cidA + "\n", want: []int{2}},
		{name: "long comment after spaces", input: strings.Repeat(" ", MaxLineBytes+5) + long + "\n" + cidA + "\n", want: []int{2}},
		{name: "long comment at the end", input: cidA + "\n" + long, want: []int{1}},
		{name: "just long comment", input: "  " + long[:MaxLineBytes+1] + "\r\n" + cidA, want: []int{2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got, bad []int
			for _, l := range readAll(t, tc.input, api.PinOptions{}) {
				got = append(got, l.N)
				if l.Err != nil {
					bad = append(bad, l.N)
					if !strings.Contains(l.Err.Error(), tc.errHas) {
						t.Errorf("line %d: %v, want %q", l.N, l.Err, tc.errHas)
					}
				}
			}
			if !equalInts(got, tc.want) || !equalInts(bad, tc.bad) {
				t.Fatalf("lines %v (bad %v), want %v (bad %v)", got, bad, tc.want, tc.bad)
			}
		})
	}
}
