package crdt

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Golden bytes pin the wire and storage encoding of ops and batches: the files in
// testdata/golden were written by an earlier version, and this version must still read them
// (persisted op logs, peers in a rolling upgrade) and, for the same values, write the same
// bytes (batch signatures are checked over a re-encoding). Regenerate only for a deliberate
// format change, with `go test ./messages -run Golden -update-golden`, and keep a read path
// for the old files.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current encoders")

// checkGolden compares enc with testdata/golden/name, writing the file under -update-golden,
// and returns the checked-in bytes.
func checkGolden(t *testing.T, name string, enc []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
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
		t.Errorf("%s: encoding changed:\n got %x\nwant %x", name, enc, want)
	}
	return want
}

func goldenOps(t testing.TB) (pin, unpin Op) {
	p := testPeer(t, 1)
	pin = Op{Origin: p, Seq: 42, Clock: MakeHLC(1700000000000, 3), Kind: OpPin, Cid: testCid(t, "golden-pin"),
		PinJSON: []byte(`{"cid":"x","name":"golden","replication_factor_min":2}`)}
	unpin = Op{Origin: p, Seq: 1 << 40, Clock: HLC(^uint64(0)), Kind: OpUnpin, Cid: testCid(t, "golden-unpin")}
	return pin, unpin
}

func TestOpGolden(t *testing.T) {
	pin, unpin := goldenOps(t)
	// A conditional op (a repin): fields 8 and 9, which older peers skip.
	repin := pin
	repin.Seq, repin.After = 43, Rank{Base: MakeHLC(1700000000000, 3), Depth: 1}
	repin.Clock = repin.After.Next().Clock()
	for name, op := range map[string]Op{"op_pin.bin": pin, "op_unpin.bin": unpin, "op_conditional.bin": repin} {
		stored := checkGolden(t, name, op.Marshal())
		got, err := UnmarshalOp(stored)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, op) {
			t.Fatalf("%s: decoded %+v want %+v", name, got, op)
		}
	}
}

func TestBatchGolden(t *testing.T) {
	pin, unpin := goldenOps(t)
	b := Batch{Origin: pin.Origin, Ops: []Op{pin, unpin}, Signature: bytes.Repeat([]byte{0xa5}, 64)}
	stored := checkGolden(t, "batch.bin", MarshalBatch(b))
	checkGolden(t, "batch_signing.bin", b.SigningBytes())
	got, err := UnmarshalBatch(stored)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("decoded %+v want %+v", got, b)
	}
}
