package statusdigest

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// ClipError returns valid UTF-8 of at most MaxErrorLen bytes, cut on a character.
func TestClipError(t *testing.T) {
	for _, s := range []string{"", "short", strings.Repeat("é", MaxErrorLen), "x" + strings.Repeat("é", MaxErrorLen), "bad \xff\xfe bytes", strings.Repeat("\xff", 2*MaxErrorLen)} {
		got := ClipError(s)
		if !utf8.ValidString(got) || len(got) > MaxErrorLen || (len(s) <= MaxErrorLen && utf8.ValidString(s) && got != s) {
			t.Fatalf("ClipError(%.20q...) = %.20q... (%d bytes, valid %v)", s, got, len(got), utf8.ValidString(got))
		}
	}
}
