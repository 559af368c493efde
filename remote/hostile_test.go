package remote

import (
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// A peer that writes garbage or announces an oversize frame gets its stream reset; the
// receiver keeps serving everyone else.
func TestHostileStreams(t *testing.T) {
	a, b := pair(t, Config{MaxMessageSize: 1 << 20})
	good := (&envelope{Target: "echo", TypeName: "test.ping", TypeVersion: 1, Payload: []byte(`{}`)}).frame()
	cases := []struct {
		name string
		in   []byte
	}{
		{"oversize frame", binary.AppendUvarint(nil, 1<<20+1)},
		{"garbage envelope", append(binary.AppendUvarint(nil, 3), 0xff, 0xff, 0xff)},
		{"bad sender address", (&envelope{Target: "echo", SenderAddress: "not-a-peer", SenderID: "x", TypeName: "test.ping", TypeVersion: 1}).frame()},
		{"good frame then garbage", append(append([]byte{}, good...), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s, err := a.h.NewStream(ctx, b.h.ID(), ProtocolID)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Reset()
			if _, err := s.Write(tc.in); err != nil {
				t.Fatal(err)
			}
			_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
			var buf [1]byte
			if _, err := s.Read(buf[:]); err == nil {
				t.Fatal("receiver wrote on a one-way stream")
			}
			if _, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: "still"}); err != nil {
				t.Fatalf("receiver stopped serving: %v", err)
			}
		})
	}
}
