package crdt

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/internal/wirepb"
)

// unmarshalBatchProto is UnmarshalBatch as it was through the generated decoder: the
// reference the in-place walk must match, accepting and refusing alike.
func unmarshalBatchProto(data []byte) (Batch, error) {
	var w wirepb.Batch
	if err := checkFields(data, batchFields); err != nil {
		return Batch{}, err
	}
	if err := proto.Unmarshal(data, &w); err != nil {
		return Batch{}, fmt.Errorf("%w: %v", ErrBadOp, err)
	}
	if w.Version != nil && *w.Version != OpCodecVersion {
		return Batch{}, fmt.Errorf("%w: batch version %d is not supported", ErrBadOp, *w.Version)
	}
	if len(w.Origin) == 0 {
		return Batch{}, fmt.Errorf("%w: batch has no origin", ErrBadOp)
	}
	b, err := unmarshalBatchOrigin(w.Origin)
	if err != nil {
		return Batch{}, err
	}
	if len(w.Signature) > 0 {
		b.Signature = w.Signature
	}
	for i, wop := range w.Ops {
		op, err := opFromWire(wop)
		if err != nil {
			return Batch{}, fmt.Errorf("batch op %d: %w", i, err)
		}
		if op.Origin == "" {
			op.Origin = b.Origin
		} else if op.Origin != b.Origin {
			return Batch{}, fmt.Errorf("%w: batch op %d has another origin", ErrBadOp, i)
		}
		if err := op.Validate(); err != nil {
			return Batch{}, fmt.Errorf("batch op %d: %w", i, err)
		}
		b.Ops = append(b.Ops, op)
	}
	return b, nil
}

func unmarshalBatchOrigin(origin []byte) (Batch, error) {
	w := wirepb.Op{Origin: origin}
	op, err := opFromWire(&w)
	if err != nil {
		return Batch{}, fmt.Errorf("%w: bad batch origin peer ID", ErrBadOp)
	}
	return Batch{Origin: op.Origin}, nil
}

// sameDecoding fails t unless UnmarshalBatch and the reference agree on b: both refuse it
// (with ErrBadOp), or both accept it with equal batches.
func sameDecoding(t *testing.T, b []byte) {
	t.Helper()
	got, gotErr := UnmarshalBatch(b)
	want, wantErr := unmarshalBatchProto(b)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("in-place walk: %v; proto: %v", gotErr, wantErr)
	}
	if gotErr != nil {
		if !errors.Is(gotErr, ErrBadOp) {
			t.Fatalf("error does not wrap ErrBadOp: %v", gotErr)
		}
		return
	}
	if len(got.Ops) == 0 && len(want.Ops) == 0 {
		got.Ops, want.Ops = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("in-place walk %+v\nproto %+v", got, want)
	}
}

func FuzzBatchDecodersAgree(f *testing.F) {
	p, q := testPeer(f, 1), testPeer(f, 2)
	f.Add(MarshalBatch(Batch{Origin: p, Ops: []Op{
		{Origin: p, Seq: 1, Clock: 1, Kind: OpPin, Cid: testCid(f, "a"), PinJSON: []byte(`{"x":1}`)},
		{Origin: p, Seq: 2, Clock: 2, Kind: OpUnpin, Cid: testCid(f, "b")},
	}, Signature: []byte("sig")}))
	f.Add(MarshalBatch(Batch{Origin: p, Ops: []Op{{Origin: q, Seq: 1, Clock: 1, Kind: OpUnpin, Cid: testCid(f, "c")}}}))
	f.Add(MarshalBatch(Batch{Origin: p, Ops: []Op{{Origin: p, Seq: 3, Clock: 9, Kind: OpUnpin, Cid: testCid(f, "d"), After: Rank{Base: 4, Depth: 2}}}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) { sameDecoding(t, b) })
}

// Hand-built encodings at the edges: explicit and absent versions, an op repeating the
// batch's origin, an empty op, unknown fields, an op of another origin, a kind out of range.
func TestBatchDecodersAgree(t *testing.T) {
	p, q := testPeer(t, 1), testPeer(t, 2)
	c := testCid(t, "x").Bytes()
	op := func(fields ...[]byte) []byte { return bytes.Join(fields, nil) }
	varint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
	}
	byts := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}
	good := op(varint(opFieldSeq, 1), varint(opFieldClock, 5), varint(opFieldKind, 1), byts(opFieldCid, c), byts(opFieldPinJSON, []byte(`{}`)))
	batch := func(fields ...[]byte) []byte { return bytes.Join(fields, nil) }
	for name, b := range map[string][]byte{
		"plain":              batch(varint(1, 1), byts(2, []byte(p)), byts(3, good), byts(4, []byte("s"))),
		"no version":         batch(byts(2, []byte(p)), byts(3, good)),
		"version 2":          batch(varint(1, 2), byts(2, []byte(p)), byts(3, good)),
		"op version 0":       batch(byts(2, []byte(p)), byts(3, op(varint(opFieldVersion, 0), good))),
		"op own origin":      batch(byts(2, []byte(p)), byts(3, op(byts(opFieldOrigin, []byte(p)), good))),
		"op other origin":    batch(byts(2, []byte(p)), byts(3, op(byts(opFieldOrigin, []byte(q)), good))),
		"op bad origin":      batch(byts(2, []byte(p)), byts(3, op(byts(opFieldOrigin, []byte("zz")), good))),
		"empty op":           batch(byts(2, []byte(p)), byts(3, nil)),
		"kind 256":           batch(byts(2, []byte(p)), byts(3, op(varint(opFieldSeq, 1), varint(opFieldKind, 256), byts(opFieldCid, c)))),
		"unknown fields":     batch(byts(2, []byte(p)), varint(9, 7), byts(3, op(good, byts(12, []byte("later")))), byts(60, nil)),
		"no origin":          batch(byts(3, good)),
		"empty origin":       batch(byts(2, nil), byts(3, good)),
		"no ops":             batch(byts(2, []byte(p))),
		"empty signature":    batch(byts(2, []byte(p)), byts(3, good), byts(4, nil)),
		"bad cid":            batch(byts(2, []byte(p)), byts(3, op(varint(opFieldSeq, 1), varint(opFieldKind, 2), byts(opFieldCid, []byte{1, 2})))),
		"empty pin json":     batch(byts(2, []byte(p)), byts(3, op(varint(opFieldSeq, 1), varint(opFieldKind, 1), byts(opFieldCid, c), byts(opFieldPinJSON, nil)))),
		"truncated":          batch(byts(2, []byte(p)), byts(3, good))[:20],
		"origin given twice": batch(byts(2, []byte(p)), byts(2, []byte(p)), byts(3, good)),
	} {
		t.Run(name, func(t *testing.T) { sameDecoding(t, b) })
	}
}

// BenchmarkUnmarshalBatch: a 4 MiB-sized batch of an ingest (16k pin ops), in-place walk
// against the generated decoder.
func BenchmarkUnmarshalBatch(b *testing.B) {
	p := testPeer(b, 1)
	batch := Batch{Origin: p, Signature: bytes.Repeat([]byte{7}, 64)}
	js := []byte(`{"cid":"x","type":"pin","allocations":[],"max_depth":-1,"reference":null,"name":"","mode":"recursive","replication_factor_min":-1,"replication_factor_max":-1,"shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":{},"pin_update":null,"origins":[],"timestamp":"2026-12-02T10:00:00Z"}`)
	for i := range 16384 {
		batch.Ops = append(batch.Ops, Op{Origin: p, Seq: uint64(i + 1), Clock: HLC(i + 1), Kind: OpPin, Cid: testCid(b, fmt.Sprint(i)), PinJSON: js})
	}
	data := MarshalBatch(batch)
	for name, dec := range map[string]func([]byte) (Batch, error){"walk": UnmarshalBatch, "proto": unmarshalBatchProto} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := dec(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
