package gossip

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/wirepb"
	"github.com/pincluster/pincluster/messages"
)

// TestVersionsGolden pins the bytes of a version vector announcement
// (testdata/golden/versions.bin), so a later version still reads what this one announced.
func TestVersionsGolden(t *testing.T) {
	a, b := wirePeer(t, 1), wirePeer(t, 2)
	vv := map[peer.ID]uint64{a: 7, b: 1 << 40}
	ann := messages.VersionAnnouncement{Full: true, Sum: crdt.VersionVector(vv).Sum(), Entries: vv}
	enc, err := encodeVersions(ann)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", "versions.bin")
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
		t.Fatalf("announcement bytes changed:\n got %x\nwant %x", enc, want)
	}
	got, err := decodeVersions(want)
	if err != nil || !got.Full || got.Sum != ann.Sum || !maps.Equal(got.Entries, vv) {
		t.Fatalf("decode: %+v %v", got, err)
	}
}

func TestVersionsRejectsBadInput(t *testing.T) {
	id := []byte(wirePeer(t, 1))
	sum := make([]byte, crdt.SumSize)
	enc := func(w *wirepb.Versions) []byte {
		b, err := proto.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, data := range map[string][]byte{
		"not protobuf": {0xff, 0xff, 0xff},
		"no sum":       enc(&wirepb.Versions{Full: true}),
		"short sum":    enc(&wirepb.Versions{Sum: sum[:8]}),
		"bad origin":   enc(&wirepb.Versions{Sum: sum, Entries: []*wirepb.VersionEntry{{Origin: []byte{0, 1}, Seq: 1}}}),
		"origin twice": enc(&wirepb.Versions{Sum: sum, Entries: []*wirepb.VersionEntry{{Origin: id, Seq: 1}, {Origin: id, Seq: 2}}}),
		"too large":    make([]byte, maxVersionsMessage+1),
	} {
		if _, err := decodeVersions(data); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// FuzzDecodeVersions: an announcement is outside input (any trusted peer's pubsub message).
// What decodes encodes back to the same announcement.
func FuzzDecodeVersions(f *testing.F) {
	vv := map[peer.ID]uint64{wirePeer(f, 1): 3}
	enc, _ := encodeVersions(messages.VersionAnnouncement{Sum: crdt.VersionVector(vv).Sum(), Entries: vv})
	f.Add(enc)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeVersions(data)
		if err != nil {
			return
		}
		again, err := encodeVersions(a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := decodeVersions(again)
		if err != nil || b.Full != a.Full || b.Sum != a.Sum || !maps.Equal(b.Entries, a.Entries) {
			t.Fatalf("round trip: %+v %v", b, err)
		}
	})
}
