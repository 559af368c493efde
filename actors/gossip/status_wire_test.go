package gossip

import (
	"testing"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

type fakeDigests struct{ got []peer.ID }

func (f *fakeDigests) Received(from peer.ID, _ statusdigest.Digest) { f.got = append(f.got, from) }

// TestReaderStatusTrust: a digest published by a trusted peer reaches the status digest
// actor; one from an untrusted or removed peer, and a malformed or oversized one, do not.
func TestReaderStatusTrust(t *testing.T) {
	r, f := newReader(t)
	d := &fakeDigests{}
	r.deps.Digests = d
	trusted, untrusted, removed := wirePeer(t, 3), wirePeer(t, 4), wirePeer(t, 5)
	f.trusted[trusted], f.trusted[removed] = true, true
	f.removed[removed] = 1
	h, err := multihash.Sum([]byte("status"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	c := api.NewCid(gocid.NewCidV1(gocid.Raw, h))
	enc, err := statusdigest.Encode(statusdigest.Digest{Epoch: 1, Seq: 1,
		Entries: []statusdigest.Entry{{Cid: c.Bytes(), Status: api.TrackerStatusPinned, Seq: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	r.onStatus(message(untrusted, untrusted, enc))
	r.onStatus(message(removed, trusted, enc))
	if len(d.got) != 0 {
		t.Fatalf("took %d digests from an untrusted or removed peer", len(d.got))
	}
	r.onStatus(message(trusted, trusted, []byte{0xff, 0x01}))
	r.onStatus(message(trusted, trusted, make([]byte, statusdigest.MaxMessage+1)))
	if len(d.got) != 0 {
		t.Fatal("a malformed or oversized digest was delivered")
	}
	r.onStatus(message(trusted, untrusted, enc))
	if len(d.got) != 1 || d.got[0] != trusted {
		t.Fatalf("delivered %v, want the trusted publisher's digest", d.got)
	}
}
