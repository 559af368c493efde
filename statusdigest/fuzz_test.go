package statusdigest

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/internal/wirepb"
)

// craftLongError is a digest whose entry carries an error text over the limit (the encoder
// would cut it).
func craftLongError(t testing.TB, d Digest) []byte {
	w := &wirepb.StatusDigest{Epoch: d.Epoch, Seq: d.Seq, Entries: EntriesToWire(d.Entries[:1])}
	w.Entries[0].Error = string(make([]byte, MaxErrorLen+1))
	b, err := proto.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecode: a digest from another peer is hostile input. Decode never panics, and what it
// accepts encodes and decodes to the same digest.
func FuzzDecode(f *testing.F) {
	g, err := Encode(goldenDigest(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(g)
	f.Add([]byte{})
	hb, _ := Encode(Digest{Epoch: 1, Seq: 3, Heartbeat: true})
	f.Add(hb)
	vb, _ := Encode(goldenHeartbeat(f)) // with a version vector announcement
	f.Add(vb)
	nb, _ := Encode(goldenNamedHeartbeat(f)) // with a peername and an IPFS peer ID
	f.Add(nb)
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Decode(b)
		if err != nil {
			return
		}
		again, err := Encode(d)
		if err != nil {
			t.Fatalf("re-encoding an accepted digest: %v", err)
		}
		d2, err := Decode(again)
		if err != nil {
			t.Fatalf("decoding a re-encoded digest: %v", err)
		}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip: %+v != %+v", d, d2)
		}
	})
}
