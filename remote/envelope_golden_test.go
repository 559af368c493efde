package remote

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current encoders")

// TestEnvelopeGolden pins the framed bytes of the sample envelopes (testdata/golden), so a
// later version of the envelope codec still reads what this one wrote and writes the same.
func TestEnvelopeGolden(t *testing.T) {
	for i, e := range sampleEnvelopes() {
		enc := e.frame()
		path := filepath.Join("testdata", "golden", fmt.Sprintf("envelope_%d.bin", i))
		if *updateGolden {
			if err := os.WriteFile(path, enc, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update-golden once to create it)", err)
		}
		if !bytes.Equal(enc, want) {
			t.Errorf("envelope %d: encoding changed:\n got %x\nwant %x", i, enc, want)
		}
		_, n := decodeFrameLen(t, want)
		got, err := decodeEnvelope(want[n:])
		if err != nil {
			t.Fatalf("envelope %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("envelope %d: decoded %+v want %+v", i, got, e)
		}
	}
}

func decodeFrameLen(t *testing.T, b []byte) (uint64, int) {
	t.Helper()
	v, n := binary.Uvarint(b)
	if n <= 0 || v != uint64(len(b)-n) {
		t.Fatalf("bad frame length prefix in %x", b)
	}
	return v, n
}
