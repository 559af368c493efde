package gossip

import (
	"testing"

	pb "github.com/libp2p/go-libp2p-pubsub/pb"
)

// TestCompactMsgID: 16 bytes, the same for the same origin and seqno, different when either
// differs (the default ID's uniqueness, in a third of its bytes).
func TestCompactMsgID(t *testing.T) {
	msg := func(from, seqno string) *pb.Message { return &pb.Message{From: []byte(from), Seqno: []byte(seqno)} }
	a := compactMsgID(msg("peer-a", "\x00\x00\x00\x01"))
	if len(a) != 16 {
		t.Fatalf("ID of %d bytes, want 16", len(a))
	}
	if b := compactMsgID(msg("peer-a", "\x00\x00\x00\x01")); a != b {
		t.Fatal("the same message has two IDs")
	}
	for _, m := range []*pb.Message{msg("peer-a", "\x00\x00\x00\x02"), msg("peer-b", "\x00\x00\x00\x01"), msg("peer-a\x00", "\x00\x00\x01")} {
		if compactMsgID(m) == a {
			t.Fatalf("origin %q seqno %x has the ID of another message", m.From, m.Seqno)
		}
	}
}
