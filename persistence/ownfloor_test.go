package persistence

import "testing"

// A new store of a peer with history numbers after it (SetOwnFloor), and still pulls the old
// ops back: they are missing from its version vector, not taken for duplicates; once they are
// in, the vector counts the new ops after them.
func TestOwnFloorContinuesNumberingAndPullsTheOldOpsBack(t *testing.T) {
	s, _ := openTemp(t)
	self := newPeer(t, 1)
	if err := s.SetOwnFloor(self, 3); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastSeq(self); last != 3 {
		t.Fatalf("LastSeq %d, want 3: the next own op is 4", last)
	}
	if pub, _ := s.Published(self); pub != 3 {
		t.Fatalf("Published %d, want 3: nothing of the old history to republish", pub)
	}
	mustApply(t, s, pinOp(t, self, 4, 40, mkCid(t, 4), "new"))
	if _, ok, _ := s.GetPin(mkCid(t, 4)); !ok {
		t.Fatal("the new own op is not applied")
	}
	if vv, _ := s.Applied(self); vv != 0 {
		t.Fatalf("version vector %d, want 0: ops 1-3 are still to pull", vv)
	}
	// The old ops come back from the other peers.
	mustApply(t, s, pinOp(t, self, 1, 10, mkCid(t, 1), "a"), pinOp(t, self, 2, 20, mkCid(t, 2), "b"), unpinOp(self, 3, 30, mkCid(t, 1)))
	if vv, _ := s.Applied(self); vv != 4 {
		t.Fatalf("version vector %d after the pull, want 4", vv)
	}
	if _, ok, _ := s.GetPin(mkCid(t, 2)); !ok {
		t.Fatal("an old op pulled back was taken for a duplicate")
	}
	// Never backwards.
	if err := s.SetOwnFloor(self, 2); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastSeq(self); last != 4 {
		t.Fatalf("LastSeq %d after a lower floor, want 4", last)
	}
}
