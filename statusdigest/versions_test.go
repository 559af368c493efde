package statusdigest

import (
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/testpeer"
	"github.com/pincluster/pincluster/internal/wirepb"
)

// goldenHeartbeat is a heartbeat carrying a version vector announcement (a change of one
// entry and the removal of another).
func goldenHeartbeat(t testing.TB) Digest {
	a, b := testpeer.ID(t, 1), testpeer.ID(t, 2)
	vv := crdt.VersionVector{a: 7, testpeer.ID(t, 3): 1 << 40}
	ann := crdt.VVAnnouncement{Sum: vv.Sum(), Entries: map[peer.ID]uint64{a: 7, b: 0}}
	return Digest{Epoch: 0xfeedbeef, Seq: 42, Heartbeat: true, Entries: []Entry{}, Versions: &ann}
}

// TestHeartbeatGolden pins the bytes of a heartbeat with a version vector announcement
// (testdata/golden/heartbeat-versions.bin); a heartbeat without one is the bytes peers before
// the field sent, and they skip the field in ours.
func TestHeartbeatGolden(t *testing.T) {
	want := checkGolden(t, "heartbeat-versions.bin", goldenHeartbeat(t))
	var old wirepb.StatusDigest // what a peer that predates the field reads
	if err := proto.Unmarshal(want, &old); err != nil || !old.Heartbeat || old.Seq != 42 {
		t.Fatalf("an older reader: %v %+v", err, &old)
	}
}

func TestDecodeRefusesBadAnnouncements(t *testing.T) {
	id := []byte(testpeer.ID(t, 1))
	sum := make([]byte, crdt.SumSize)
	enc := func(w *wirepb.StatusDigest) []byte {
		b, err := proto.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	beat := func(v *wirepb.Versions) []byte {
		return enc(&wirepb.StatusDigest{Epoch: 1, Seq: 1, Heartbeat: true, Versions: v})
	}
	good := EntriesToWire(goldenDigest(t).Entries[:1])
	good[0].Seq = 1
	for name, b := range map[string][]byte{
		"delta with versions": enc(&wirepb.StatusDigest{Epoch: 1, Seq: 1, Entries: good, Versions: &wirepb.Versions{Sum: sum}}),
		"no sum":              beat(&wirepb.Versions{Full: true}),
		"short sum":           beat(&wirepb.Versions{Sum: sum[:8]}),
		"bad origin":          beat(&wirepb.Versions{Sum: sum, Entries: []*wirepb.VersionEntry{{Origin: []byte{0, 1}, Seq: 1}}}),
		"origin twice":        beat(&wirepb.Versions{Sum: sum, Entries: []*wirepb.VersionEntry{{Origin: id, Seq: 1}, {Origin: id, Seq: 2}}}),
		"too many":            beat(&wirepb.Versions{Sum: sum, Entries: make([]*wirepb.VersionEntry, MaxVersionEntries+1)}),
	} {
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// A heartbeat announcing MaxVersionEntries origins of the longest peer IDs (an inlined key of
// 42 bytes) and the largest seqs, with the longest peername and IPFS peer ID, still fits
// MaxMessage: the cap is the only guard the sender needs (actors/statusdigest's heartbeat).
func TestHeartbeatAtTheEntryCapFits(t *testing.T) {
	entries := make(map[peer.ID]uint64, MaxVersionEntries)
	for i := range MaxVersionEntries {
		id := make([]byte, 42)
		id[0], id[1], id[2], id[3] = 0x00, 40, byte(i), byte(i>>8)
		entries[peer.ID(id)] = ^uint64(0)
	}
	ann := crdt.VVAnnouncement{Full: true, Entries: entries}
	d := Digest{Epoch: ^uint64(0), Seq: ^uint64(0), Heartbeat: true, Versions: &ann,
		Peername: strings.Repeat("x", MaxPeernameBytes), IPFS: longestIPFSID(t)}
	b, err := Encode(d)
	if err != nil {
		t.Fatalf("a heartbeat at the entry cap: %v", err)
	}
	if got, err := Decode(b); err != nil || got.Peername != d.Peername || got.IPFS != d.IPFS {
		t.Fatalf("a heartbeat at the entry cap: %v, told %q %q", err, got.Peername, got.IPFS)
	}
}
