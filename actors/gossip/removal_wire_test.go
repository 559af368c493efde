package gossip

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRemovalGolden pins the bytes of a removal message (testdata/golden/removal.bin), so a
// later version still reads what this one announced.
func TestRemovalGolden(t *testing.T) {
	id := wirePeer(t, 1)
	enc, err := encodeRemoval(id, 42)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", "removal.bin")
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
		t.Fatalf("removal bytes changed:\n got %x\nwant %x", enc, want)
	}
	gotID, cutoff, err := decodeRemoval(want)
	if err != nil || gotID != id || cutoff != 42 {
		t.Fatalf("decode: %s %d %v", gotID, cutoff, err)
	}
}

func TestRemovalRejectsBadInput(t *testing.T) {
	for name, data := range map[string][]byte{
		"not protobuf": []byte{0xff, 0xff, 0xff},
		"no peer":      {0x10, 0x01},
		"bad peer":     {0x0a, 0x02, 0x00, 0x01},
		"too large":    make([]byte, maxRemovalMessage+1),
	} {
		if _, _, err := decodeRemoval(data); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeRemoval: a removal message is outside input (any trusted peer's pubsub message).
func FuzzDecodeRemoval(f *testing.F) {
	enc, _ := encodeRemoval(wirePeer(f, 1), 7)
	f.Add(enc)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		id, cutoff, err := decodeRemoval(data)
		if err != nil {
			return
		}
		again, err := encodeRemoval(id, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if id2, c2, err := decodeRemoval(again); err != nil || id2 != id || c2 != cutoff {
			t.Fatalf("round trip: %s %d %v", id2, c2, err)
		}
	})
}
