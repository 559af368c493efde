package crdt

import "testing"

// The op codec is on the hot path: every applied op is encoded into the op log, and every
// pulled or gossiped op is decoded.

func BenchmarkOpMarshal(b *testing.B) {
	pin, _ := goldenOps(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = pin.Marshal()
	}
}

func BenchmarkOpUnmarshal(b *testing.B) {
	pin, _ := goldenOps(b)
	enc := pin.Marshal()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalOp(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBatchRoundTrip(b *testing.B) {
	pin, _ := goldenOps(b)
	batch := Batch{Origin: pin.Origin, Signature: make([]byte, 64)}
	for i := range 256 {
		op := pin
		op.Seq = uint64(i + 1)
		batch.Ops = append(batch.Ops, op)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalBatch(MarshalBatch(batch)); err != nil {
			b.Fatal(err)
		}
	}
}
