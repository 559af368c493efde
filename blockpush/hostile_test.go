package blockpush

import (
	"bufio"
	"context"
	"strings"
	"testing"

	blocks "github.com/ipfs/go-block-format"
)

// TestServerRefusesForgedBlock: a block whose data does not match its CID, or a frame over
// the size limit, is refused with an error frame and nothing of it is stored.
func TestServerRefusesForgedBlock(t *testing.T) {
	cases := map[string]func(w *bufio.Writer){
		"forged data": func(w *bufio.Writer) {
			real := blocks.NewBlock([]byte("the real data"))
			forged, _ := blocks.NewBlockWithCid([]byte("something else"), real.Cid())
			_ = writeFrame(w, frameBlock, encodeBlock(forged)...)
		},
		"oversized frame": func(w *bufio.Writer) {
			_, _ = w.Write([]byte{frameBlock})
			_, _ = w.Write(uvarintPayload(maxFrame + 1))
		},
		"block before hello": nil,
	}
	for name, send := range cases {
		t.Run(name, func(t *testing.T) {
			sender, receiver := newHost(t), newHost(t)
			connect(t, sender, receiver)
			store := newMemPutter()
			srv := NewServer(receiver, store, allTrusted, quiet())
			t.Cleanup(srv.Close)
			st, err := sender.NewStream(context.Background(), receiver.ID(), ProtocolID)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Reset()
			w := bufio.NewWriter(st)
			if send != nil {
				_ = writeFrame(w, frameHello, blocks.NewBlock([]byte("root")).Cid().Bytes())
				send(w)
			} else {
				_ = writeFrame(w, frameBlock, encodeBlock(blocks.NewBlock([]byte("x")))...)
			}
			_ = writeFrame(w, frameEnd)
			_ = w.Flush()
			typ, p, err := readFrame(bufio.NewReader(st))
			if err != nil || typ != frameError {
				t.Fatalf("want an error frame, got type %q %q (%v)", typ, p, err)
			}
			if !strings.Contains(string(p), "frame") && !strings.Contains(string(p), "does not match") {
				t.Fatalf("unclear refusal: %q", p)
			}
			if len(store.blocks) != 0 {
				t.Fatalf("stored %d blocks of a refused push", len(store.blocks))
			}
		})
	}
}
