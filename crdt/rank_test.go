package crdt

import "testing"

// A conditional op beats the record it was made from and every older one, and loses to any op
// made since that record, even one stamped before it: the case of a repin made by the majority
// side of a partition and an unpin the cut-off side acknowledged meanwhile.
func TestConditionalRank(t *testing.T) {
	a, b := testPeer(t, 1), testPeer(t, 2)
	pin := Op{Origin: a, Seq: 1, Clock: MakeHLC(1000, 0), Kind: OpPin}
	unpin := Op{Origin: b, Seq: 1, Clock: MakeHLC(2000, 0), Kind: OpUnpin}
	repin := Op{Origin: a, Seq: 2, Clock: MakeHLC(3000, 0), Kind: OpPin, After: pin.Rank()}
	if !repin.Newer(pin) || pin.Newer(repin) {
		t.Fatal("a repin does not replace the record it was made from")
	}
	if repin.Newer(unpin) || !unpin.Newer(repin) {
		t.Fatal("a repin won over an unpin made after its record, which it never saw")
	}
	again := Op{Origin: b, Seq: 2, Clock: MakeHLC(4000, 0), Kind: OpPin, After: repin.Rank()}
	if !again.Newer(repin) || again.Newer(unpin) {
		t.Fatal("a repin of a repin ranks wrong")
	}
	if got, want := again.Rank(), (Rank{Base: pin.Clock, Depth: 2}); got != want {
		t.Fatalf("rank %+v, want %+v", got, want)
	}
	// Two repins of one record: the origin decides, as for equal clocks.
	rival := Op{Origin: b, Seq: 3, Clock: MakeHLC(2500, 0), Kind: OpPin, After: pin.Rank()}
	if repin.Newer(rival) == rival.Newer(repin) {
		t.Fatal("two repins of one record do not order")
	}
	// A later plain op wins over a conditional one, however fresh the conditional one's clock.
	later := Op{Origin: a, Seq: 4, Clock: MakeHLC(1001, 0), Kind: OpPin}
	if !later.Newer(again) {
		t.Fatal("an op made after the record lost to a repin of it")
	}
}

// A conditional op without a record's clock is refused, on both decoders.
func TestConditionalValidate(t *testing.T) {
	op := Op{Origin: testPeer(t, 1), Seq: 1, Clock: 5, Kind: OpUnpin, Cid: testCid(t, "x"), After: Rank{Depth: 1}}
	if err := op.Validate(); err == nil {
		t.Fatal("after_depth without after_base was accepted")
	}
	if _, err := UnmarshalOp(op.Marshal()); err == nil {
		t.Fatal("UnmarshalOp accepted after_depth without after_base")
	}
	b, err := UnmarshalBatch(MarshalBatch(Batch{Origin: op.Origin, Ops: []Op{op}}))
	if err == nil {
		t.Fatalf("a batch with it decoded: %+v", b)
	}
}
