package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"
	"google.golang.org/protobuf/encoding/protowire"

	gocid "github.com/ipfs/go-cid"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/testpeer"
)

// testPeer is a peer ID that is the same for the same seed (internal/testpeer).
var testPeer = testpeer.ID

func testCid(t testing.TB, s string) api.Cid {
	t.Helper()
	h, err := multihash.Sum([]byte(s), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

func TestOpRoundTrip(t *testing.T) {
	p := testPeer(t, 1)
	tests := []struct {
		name string
		op   Op
	}{
		{"pin", Op{Origin: p, Seq: 1, Clock: MakeHLC(1700000000000, 3), Kind: OpPin, Cid: testCid(t, "a"), PinJSON: []byte(`{"cid":"x"}`)}},
		{"unpin", Op{Origin: p, Seq: 1 << 40, Clock: 1, Kind: OpUnpin, Cid: testCid(t, "b")}},
		{"max values", Op{Origin: p, Seq: ^uint64(0), Clock: HLC(^uint64(0)), Kind: OpUnpin, Cid: testCid(t, "c")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnmarshalOp(tc.op.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.op) {
				t.Fatalf("round trip: got %+v want %+v", got, tc.op)
			}
		})
	}
}

func TestOpUnknownFieldsSkipped(t *testing.T) {
	op := Op{Origin: testPeer(t, 1), Seq: 5, Clock: 9, Kind: OpUnpin, Cid: testCid(t, "a")}
	b := op.Marshal()
	b = protowire.AppendTag(b, 99, protowire.BytesType)
	b = protowire.AppendString(b, "future")
	b = protowire.AppendTag(b, 100, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 7)
	b = protowire.AppendTag(b, 101, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 7)
	got, err := UnmarshalOp(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, op) {
		t.Fatalf("got %+v want %+v", got, op)
	}
}

func TestOpRejectsGarbage(t *testing.T) {
	p := testPeer(t, 1)
	good := Op{Origin: p, Seq: 1, Clock: 1, Kind: OpPin, Cid: testCid(t, "a"), PinJSON: []byte(`{}`)}
	withVersion := func(v uint64) []byte {
		b := protowire.AppendTag(nil, opFieldVersion, protowire.VarintType)
		return append(protowire.AppendVarint(b, v), good.Marshal()[2:]...)
	}
	mutate := func(f func(o *Op)) []byte { o := good; f(&o); return o.Marshal() }
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated", good.Marshal()[:10]},
		{"bad tag", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"group wire type", []byte{0x0b}},
		{"future version", withVersion(2)},
		{"no seq", mutate(func(o *Op) { o.Seq = 0 })},
		{"no origin", mutate(func(o *Op) { o.Origin = "" })},
		{"bad kind", mutate(func(o *Op) { o.Kind = 7 })},
		{"no cid", mutate(func(o *Op) { o.Cid = api.CidUndef })},
		{"pin without json", mutate(func(o *Op) { o.PinJSON = nil })},
		{"pin with bad json", mutate(func(o *Op) { o.PinJSON = []byte(`{"a":`) })},
		{"unpin with json", mutate(func(o *Op) { o.Kind = OpUnpin })},
		{"bad origin bytes", append(protowire.AppendBytes(protowire.AppendTag(nil, opFieldOrigin, protowire.BytesType), []byte{1, 2, 3}), good.Marshal()...)},
		{"bad cid bytes", append(good.Marshal(), protowire.AppendBytes(protowire.AppendTag(nil, opFieldCid, protowire.BytesType), []byte{0xff})...)},
		{"seq wrong type", append(good.Marshal(), protowire.AppendBytes(protowire.AppendTag(nil, opFieldSeq, protowire.BytesType), []byte{1})...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := UnmarshalOp(tc.in)
			if err == nil {
				t.Fatal("expected an error")
			}
			if !errors.Is(err, ErrBadOp) || !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrBadOp and api.ErrInvalid", err)
			}
		})
	}
}

func TestBatchRoundTripAndSigning(t *testing.T) {
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	origin, _ := peer.IDFromPrivateKey(priv)
	b := Batch{Origin: origin}
	for i := 1; i <= 5; i++ {
		op := Op{Origin: origin, Seq: uint64(i), Clock: HLC(100 + i), Kind: OpPin, Cid: testCid(t, string(rune('a'+i))), PinJSON: []byte(`{"n":1}`)}
		if i == 3 {
			op.Kind, op.PinJSON = OpUnpin, nil
		}
		b.Ops = append(b.Ops, op)
	}
	b.Signature, err = priv.Sign(b.SigningBytes())
	if err != nil {
		t.Fatal(err)
	}
	enc := MarshalBatch(b)
	got, err := UnmarshalBatch(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("got %+v want %+v", got, b)
	}
	ok, err := priv.GetPublic().Verify(got.SigningBytes(), got.Signature)
	if err != nil || !ok {
		t.Fatalf("signature does not verify after round trip: %v", err)
	}
	// Tampering with an op breaks the signature.
	got.Ops[0].Clock++
	if ok, _ := priv.GetPublic().Verify(got.SigningBytes(), got.Signature); ok {
		t.Fatal("tampered batch still verifies")
	}
	// The empty batch round-trips too.
	empty := Batch{Origin: origin}
	gotEmpty, err := UnmarshalBatch(MarshalBatch(empty))
	if err != nil || gotEmpty.Origin != origin || len(gotEmpty.Ops) != 0 {
		t.Fatalf("empty batch: %+v, %v", gotEmpty, err)
	}
}

func TestBatchRejectsForeignOps(t *testing.T) {
	a, b := testPeer(t, 1), testPeer(t, 2)
	batch := Batch{Origin: a, Ops: []Op{{Origin: b, Seq: 1, Clock: 1, Kind: OpUnpin, Cid: testCid(t, "x")}}}
	if _, err := UnmarshalBatch(MarshalBatch(batch)); !errors.Is(err, ErrBadOp) {
		t.Fatalf("foreign op accepted: %v", err)
	}
	if _, err := UnmarshalBatch(MarshalBatch(Batch{})); !errors.Is(err, ErrBadOp) {
		t.Fatalf("batch without origin accepted: %v", err)
	}
	bad := Batch{Origin: a, Ops: []Op{{Origin: a, Seq: 0, Kind: OpUnpin, Cid: testCid(t, "x")}}}
	if _, err := UnmarshalBatch(MarshalBatch(bad)); !errors.Is(err, ErrBadOp) {
		t.Fatalf("batch with invalid op accepted: %v", err)
	}
}

func FuzzUnmarshalOp(f *testing.F) {
	p := testPeer(f, 1)
	f.Add(Op{Origin: p, Seq: 1, Clock: 1, Kind: OpPin, Cid: testCid(f, "a"), PinJSON: []byte(`{}`)}.Marshal())
	f.Add(Op{Origin: p, Seq: 2, Clock: 2, Kind: OpUnpin, Cid: testCid(f, "b")}.Marshal())
	f.Add([]byte{})
	f.Add([]byte{0x0b, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		op, err := UnmarshalOp(b)
		if err != nil {
			return
		}
		again, err := UnmarshalOp(op.Marshal())
		if err != nil {
			t.Fatalf("re-decoding a decoded op failed: %v", err)
		}
		if !reflect.DeepEqual(op, again) {
			t.Fatalf("re-encoding changed the op: %+v vs %+v", op, again)
		}
	})
}

func FuzzUnmarshalBatch(f *testing.F) {
	p := testPeer(f, 1)
	f.Add(MarshalBatch(Batch{Origin: p, Ops: []Op{
		{Origin: p, Seq: 1, Clock: 1, Kind: OpPin, Cid: testCid(f, "a"), PinJSON: []byte(`{"x":1}`)},
		{Origin: p, Seq: 2, Clock: 2, Kind: OpUnpin, Cid: testCid(f, "b")},
	}, Signature: []byte("sig")}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		batch, err := UnmarshalBatch(b)
		if err != nil {
			return
		}
		again, err := UnmarshalBatch(MarshalBatch(batch))
		if err != nil {
			t.Fatalf("re-decoding a decoded batch failed: %v", err)
		}
		if !bytes.Equal(batch.SigningBytes(), again.SigningBytes()) {
			t.Fatal("signing bytes changed across a round trip")
		}
	})
}

// A batch is encoded once to be signed and sent, and a received batch's signing bytes are its
// data without the signature field: both must be exactly what the encode-again paths give,
// and a batch whose data puts the signature elsewhere still verifies (by encoding it again).
func TestSignOnceAndReceivedSigningBytes(t *testing.T) {
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	origin, _ := peer.IDFromPrivateKey(priv)
	b := Batch{Origin: origin}
	for i := 1; i <= 300; i++ {
		b.Ops = append(b.Ops, Op{Origin: origin, Seq: uint64(i), Clock: HLC(1000 + i), Kind: OpPin,
			Cid: testCid(t, fmt.Sprint("c", i)), PinJSON: []byte(`{"name":"x"}`)})
	}
	data, err := SignAndMarshal(b, priv.Sign)
	if err != nil {
		t.Fatal(err)
	}
	signed := b
	if signed.Signature, err = priv.Sign(b.SigningBytes()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, MarshalBatch(signed)) {
		t.Fatal("SignAndMarshal differs from MarshalBatch of the signed batch")
	}
	got, err := UnmarshalBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ReceivedSigningBytes(nil, data, got), got.SigningBytes()) {
		t.Fatal("ReceivedSigningBytes differs from SigningBytes")
	}
	if ok, err := priv.GetPublic().Verify(ReceivedSigningBytes(nil, data, got), got.Signature); err != nil || !ok {
		t.Fatalf("does not verify: %v", err)
	}
	// The signature field first: not a suffix, encoded again, still verifies.
	sigField := protowire.AppendBytes(protowire.AppendTag(nil, signatureField, protowire.BytesType), got.Signature)
	moved := append(append([]byte(nil), sigField...), data[:len(data)-len(sigField)]...)
	again, err := UnmarshalBatch(moved)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := priv.GetPublic().Verify(ReceivedSigningBytes(nil, moved, again), again.Signature); err != nil || !ok {
		t.Fatalf("a batch with its signature first does not verify: %v", err)
	}
	// A changed op in the data fails, whichever path.
	tampered := bytes.Clone(data)
	i := bytes.Index(tampered, []byte(`"name":"x"`))
	tampered[i+8] = 'y'
	bad, err := UnmarshalBatch(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := priv.GetPublic().Verify(ReceivedSigningBytes(nil, tampered, bad), bad.Signature); ok {
		t.Fatal("a tampered batch verifies")
	}
}
