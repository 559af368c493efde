package statusdigest

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/internal/testpeer"
	"github.com/pincluster/pincluster/internal/wirepb"
)

// goldenNamedHeartbeat is a heartbeat telling its publisher's peername and IPFS peer ID.
func goldenNamedHeartbeat(t testing.TB) Digest {
	return Digest{Epoch: 0xfeedbeef, Seq: 42, Heartbeat: true, Entries: []Entry{}, Peername: "pörto \"1\"",
		IPFS: testpeer.ID(t, 9).String()}
}

// TestNamedHeartbeatGolden pins the bytes of a heartbeat with a peername and an IPFS peer ID
// (testdata/golden/heartbeat-names.bin). The golden files without them (the bytes of earlier
// peers) are unchanged and still decode (TestDigestGolden, TestHeartbeatGolden).
func TestNamedHeartbeatGolden(t *testing.T) {
	checkGolden(t, "heartbeat-names.bin", goldenNamedHeartbeat(t))
}

// longestIPFSID is a peer ID whose text is MaxIPFSIDBytes long: a CIDv1 (base32) of an
// identity multihash of 75 bytes.
func longestIPFSID(t testing.TB) string {
	h, err := mh.Sum(make([]byte, 75), mh.IDENTITY, -1)
	if err != nil {
		t.Fatal(err)
	}
	s := cid.NewCidV1(cid.Libp2pKey, h).String()
	if len(s) != MaxIPFSIDBytes {
		t.Fatalf("the longest IPFS peer ID is %d bytes, want %d", len(s), MaxIPFSIDBytes)
	}
	if _, err := peer.Decode(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDecodeRefusesBadIdentities(t *testing.T) {
	enc := func(w *wirepb.StatusDigest) []byte {
		b, err := proto.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	beat := func(name, id string) []byte {
		return enc(&wirepb.StatusDigest{Epoch: 1, Seq: 1, Heartbeat: true, Peername: name, IpfsId: id})
	}
	delta := func(name, id string) []byte {
		good := EntriesToWire(goldenDigest(t).Entries[:1])
		good[0].Seq = 1
		return enc(&wirepb.StatusDigest{Epoch: 1, Seq: 1, Entries: good, Peername: name, IpfsId: id})
	}
	// proto.Marshal refuses a string field that is not UTF-8: append it by hand.
	notUTF8 := protowire.AppendString(protowire.AppendTag(beat("", ""), 6, protowire.BytesType), "\xff\xfe")
	id := testpeer.ID(t, 1).String()
	for name, b := range map[string][]byte{
		"peername too long":       beat(strings.Repeat("x", MaxPeernameBytes+1), id),
		"peername not UTF-8":      notUTF8,
		"ipfs_id not a peer ID":   beat("p", "nope"),
		"ipfs_id a content CID":   beat("p", goldenCid),
		"ipfs_id too long":        beat("p", longestIPFSID(t)+"a"),
		"delta with a peername":   delta("p", ""),
		"delta with an ipfs_id":   delta("", id),
		"delta with both":         delta("p", id),
		"ipfs_id truncated":       beat("p", id[:len(id)-3]),
		"ipfs_id with whitespace": beat("p", " "+id),
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// The bounds themselves are taken.
	for name, b := range map[string][]byte{
		"longest peername": beat(strings.Repeat("x", MaxPeernameBytes), id),
		"longest ipfs_id":  beat("p", longestIPFSID(t)),
		"neither":          beat("", ""),
	} {
		if _, err := Decode(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The encoder never sends what the decoder refuses: a long or broken peername is cut or
// mended, an IPFS peer ID that does not parse is left out, and a delta with either is an error.
func TestEncodeMendsIdentities(t *testing.T) {
	long := strings.Repeat("ü", MaxPeernameBytes) // 2 bytes a rune: the cut falls inside one
	for _, tc := range []struct{ name, ipfs, wantName, wantIPFS string }{
		{long, "nope", long[:MaxPeernameBytes-1], ""},
		{"a\xffb", testpeer.ID(t, 2).String(), "a\uFFFDb", testpeer.ID(t, 2).String()},
		{"plain", longestIPFSID(t) + "a", "plain", ""},
	} {
		b, err := Encode(Digest{Epoch: 1, Seq: 1, Heartbeat: true, Peername: tc.name, IPFS: tc.ipfs})
		if err != nil {
			t.Fatal(err)
		}
		d, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if d.Peername != tc.wantName || d.IPFS != tc.wantIPFS || !utf8.ValidString(d.Peername) {
			t.Errorf("%.20q %q: sent %.20q %q, want %.20q %q", tc.name, tc.ipfs, d.Peername, d.IPFS, tc.wantName, tc.wantIPFS)
		}
	}
	d := goldenDigest(t)
	d.Peername = "p"
	if _, err := Encode(d); err == nil {
		t.Error("encoded a delta with a peername")
	}
}

func TestMetaKeepsIdentity(t *testing.T) {
	var m Meta
	m.Reset(1, time.Now())
	m.Told(Digest{Epoch: 1, Heartbeat: true, Peername: "a", IPFS: "x"})
	m.Told(Digest{Epoch: 1, Heartbeat: true}) // a peer of an earlier version tells neither
	m.Told(Digest{Epoch: 1, Seq: 1, Peername: "not a heartbeat"})
	if m.Peername != "a" || m.IPFS != "x" {
		t.Fatalf("after a heartbeat without names: %+v", m)
	}
	m.Told(Digest{Epoch: 1, Heartbeat: true, Peername: "b"})
	m.Reset(2, time.Now()) // the same peer, a new epoch
	if m.Epoch != 2 || m.Peername != "b" || m.IPFS != "x" {
		t.Fatalf("after a new epoch: %+v", m)
	}
}
