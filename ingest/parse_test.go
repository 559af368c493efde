package ingest

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

const (
	cidA  = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	cidB  = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
	peerA = "12D3KooWFK1QXfcHKjQX8iKZX84RoGzBZtxxCzfLreEEoSvGMP9Y"
)

// readAll returns every line of input.
func readAll(t testing.TB, input string, defaults api.PinOptions) []Line {
	t.Helper()
	r := NewReader(strings.NewReader(input), defaults)
	var out []Line
	for {
		l, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, l)
	}
}

func TestReaderLines(t *testing.T) {
	defaults := api.PinOptions{Name: "cli", ReplicationFactorMin: 2, ReplicationFactorMax: 3, Metadata: map[string]string{"k": "cli"}}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name, input string
		want        []int // line numbers returned
		bad         []int // of which bad
		check       func(t *testing.T, ls []Line)
	}{
		{name: "plain CIDs, blanks and comments", input: cidA + "\n\n# comment\n  " + cidB + "  \r\n", want: []int{1, 4}},
		{name: "ipfs paths", input: "/ipfs/" + cidA + "\n/ipld/" + cidB + "\n/ipfs/" + cidA + "/sub\n/ipns/example.com\n", want: []int{1, 2, 3, 4}, bad: []int{3, 4}},
		{name: "no trailing newline", input: cidA + "\n" + cidB, want: []int{1, 2}},
		{name: "bad CIDs", input: "not-a-cid\nQmTooShort\n" + cidA + "\n", want: []int{1, 2, 3}, bad: []int{1, 2}},
		{name: "NUL and invalid UTF-8", input: cidA + "\x00\n\xff\xfe\n" + cidB + "\n", want: []int{1, 2, 3}, bad: []int{1, 2}},
		{name: "line over 64 KiB, the next one still read", input: strings.Repeat("a", MaxLineBytes+10) + "\n" + cidA + "\n", want: []int{1, 2}, bad: []int{1},
			check: func(t *testing.T, ls []Line) {
				if !strings.Contains(ls[0].Err.Error(), "longer than") || len(ls[0].Input()) > maxInputEcho+3 {
					t.Fatalf("long line: err %v, input %d bytes", ls[0].Err, len(ls[0].Input()))
				}
			}},
		{name: "long last line without newline", input: cidA + "\n" + strings.Repeat("b", 3*MaxLineBytes), want: []int{1, 2}, bad: []int{2}},
		{name: "NDJSON with every field", input: `{"cid":"` + cidA + `","name":"n","replication_factor_min":1,"replication_factor_max":2,"allocations":["` + peerA + `"],"mode":"direct","expire_at":"2030-01-02T03:04:05Z","metadata":{"a":"b"}}` + "\n", want: []int{1},
			check: func(t *testing.T, ls []Line) {
				o := ls[0].Opts
				if o.Name != "n" || o.ReplicationFactorMin != 1 || o.ReplicationFactorMax != 2 || len(o.UserAllocations) != 1 || o.Mode != api.PinModeDirect || !o.ExpireAt.Equal(exp) || o.Metadata["a"] != "b" || o.Metadata["k"] != "" {
					t.Fatalf("options %+v", o)
				}
			}},
		{name: "NDJSON takes the command-line options it does not set", input: `{"cid":"` + cidA + `","replication_factor_max":5}` + "\n" + cidB + "\n", want: []int{1, 2},
			check: func(t *testing.T, ls []Line) {
				if o := ls[0].Opts; o.Name != "cli" || o.ReplicationFactorMin != 2 || o.ReplicationFactorMax != 5 || o.Metadata["k"] != "cli" {
					t.Fatalf("line 1 options %+v", o)
				}
				if o := ls[1].Opts; o.Name != "cli" || o.ReplicationFactorMax != 3 {
					t.Fatalf("line 2 options %+v", o)
				}
			}},
		{name: "NDJSON errors", input: `{"cid":"` + cidA + `","colour":"red"}` + "\n" + `{"name":"x"}` + "\n" + `{"cid":"` + cidA + `"} {}` + "\n" + `{"cid":"` + cidA + `","mode":"sideways"}` + "\n" + `{"cid":"` + cidA + `","allocations":["nope"]}` + "\n" + `{"cid":` + "\n",
			want: []int{1, 2, 3, 4, 5, 6}, bad: []int{1, 2, 3, 4, 5, 6}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ls := readAll(t, tc.input, defaults)
			var got, bad []int
			for _, l := range ls {
				got = append(got, l.N)
				if l.Err != nil {
					bad = append(bad, l.N)
					if !errors.Is(l.Err, api.ErrInvalid) {
						t.Errorf("line %d: error %v does not wrap ErrInvalid", l.N, l.Err)
					}
					if l.Cid.Defined() {
						t.Errorf("line %d: bad line has a CID", l.N)
					}
				} else if !l.Cid.Defined() {
					t.Errorf("line %d: good line without CID", l.N)
				}
			}
			if !equalInts(got, tc.want) || !equalInts(bad, tc.bad) {
				t.Fatalf("lines %v (bad %v), want %v (bad %v)", got, bad, tc.want, tc.bad)
			}
			if tc.check != nil {
				tc.check(t, ls)
			}
		})
	}
}

func TestReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	r := NewReader(io.MultiReader(strings.NewReader(cidA+"\n"+cidB[:10]), errReader{boom}), api.PinOptions{})
	if l, err := r.Next(); err != nil || l.N != 1 {
		t.Fatalf("first line: %+v %v", l, err)
	}
	// The cut second line is not returned as a line: it never ended.
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("second Next: %v, want the read error", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzReader: any input yields lines in increasing order, each either a CID or an ErrInvalid,
// with a short echo; the reader never fails on input it can read.
func FuzzReader(f *testing.F) {
	for _, s := range []string{cidA + "\n", "# c\n\n" + cidB, `{"cid":"` + cidA + `","metadata":{"a":"b"}}`, "\x00\xff\n", `{"cid":1}`, "/ipfs/" + cidA,
		"\xef\xbb\xbf" + cidA + "\r\n", `{"cid":"` + cidA + `","NAME":"x","cid":"` + cidB + `"}`, "  #" + strings.Repeat("c", MaxLineBytes) + "\r\n" + cidB} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(strings.NewReader(string(b)), api.PinOptions{})
		last := 0
		for {
			l, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if l.N <= last {
				t.Fatalf("line %d after %d", l.N, last)
			}
			last = l.N
			if (l.Err == nil) != l.Cid.Defined() {
				t.Fatalf("line %d: err %v, cid defined %v", l.N, l.Err, l.Cid.Defined())
			}
			if l.Err != nil && !errors.Is(l.Err, api.ErrInvalid) {
				t.Fatalf("line %d: %v does not wrap ErrInvalid", l.N, l.Err)
			}
			if len(l.Input()) > maxInputEcho+3 {
				t.Fatalf("echo of %d bytes", len(l.Input()))
			}
		}
	})
}
