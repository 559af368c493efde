package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNotText(t *testing.T) {
	cid := "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy\n"
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(0x80 + i%0x40) // no NUL, continuation bytes without a start
	}
	cases := []struct {
		name string
		head string
		cut  bool
		want string // substring of the reason; "" is text
	}{
		{"CIDs", strings.Repeat(cid, 100), false, ""},
		{"byte order mark", "\xef\xbb\xbf" + cid, false, ""},
		{"a Latin-1 name", `{"cid":"x","name":"caf` + "\xe9" + `"}` + "\n" + strings.Repeat(cid, 10), false, ""},
		{"cut inside a rune", strings.Repeat(cid, 10) + "\xc3", true, ""},
		{"empty", "", false, ""},
		{"NUL bytes", cid + "\x00\x01", false, "NUL"},
		{"UTF-16", "\xff\xfeb\x00a\x00", false, "UTF-16"},
		{"binary without NUL", string(random), true, "not UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := notText([]byte(tc.head), tc.cut)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("notText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQuoteInputAndEscapeControls(t *testing.T) {
	cases := []struct{ in, want string }{
		{"bafy", `"bafy"`},
		{"\x1b]0;owned\x07\x1b[2J", `"\x1b]0;owned\a\x1b[2J"`},
		{strings.Repeat("é", 100), `"` + strings.Repeat("é", maxEcho/2) + `"...`},
	}
	for _, tc := range cases {
		if got := quoteInput(tc.in); got != tc.want {
			t.Errorf("quoteInput(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := escapeControls("invalid: \"x\" \x1b[31mred\x07 ok é"); got != `invalid: "x" \x1b[31mred\a ok é` {
		t.Errorf("escapeControls: %s", got)
	}
}

// A binary file or stdin is refused with one error before anything is sent (no daemon runs
// here: a request would fail otherwise), and no control byte reaches the output.
func TestBatchRefusesBinaryInput(t *testing.T) {
	isolate(t)
	bin := filepath.Join(t.TempDir(), "big.bin")
	data := append([]byte("\x1b[2J\x07bafy\n"), make([]byte, 1000)...)
	if err := os.WriteFile(bin, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"pin", "add", "--from", bin}, {"pin", "rm", "--from", bin}, {"pin", "add", "--from", "-"}} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"--host=/ip4/127.0.0.1/tcp/1"}, args...), IO{In: bytes.NewReader(data), Out: &out, Err: &errb})
		name := bin
		if args[3] == "-" {
			name = "stdin"
		}
		all := out.String() + errb.String()
		if code == 0 || !strings.Contains(all, name+" does not look like a text file of CIDs") || strings.ContainsAny(all, "\x1b\x07") {
			t.Errorf("%v: exit %d, output %q", args, code, all)
		}
	}
}
