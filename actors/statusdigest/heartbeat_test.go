package statusdigest

import (
	"maps"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/testpeer"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// A heartbeat announces the whole vector first, then what changed since the vector the last
// one announced; none when there is no vector or it is too large to announce.
func TestHeartbeatAnnouncesVersions(t *testing.T) {
	a, b := testpeer.ID(t, 1), testpeer.ID(t, 2)
	vv := crdt.VersionVector{a: 3, b: 1}
	d, sent := heartbeat(7, 9, nil, vv)
	if !d.Heartbeat || d.Epoch != 7 || d.Seq != 9 || d.Versions == nil || !d.Versions.Full || !maps.Equal(sent, vv) {
		t.Fatalf("first heartbeat: %+v, announced %v", d, sent)
	}
	next := crdt.VersionVector{a: 4, b: 1}
	d, sent = heartbeat(7, 9, vv, next)
	if d.Versions == nil || d.Versions.Full || !maps.Equal(d.Versions.Entries, map[peer.ID]uint64{a: 4}) ||
		d.Versions.Sum != next.Sum() || !maps.Equal(sent, next) {
		t.Fatalf("after a change: %+v, announced %v", d.Versions, sent)
	}
	if d, sent = heartbeat(7, 9, next, nil); d.Versions != nil || sent != nil {
		t.Fatal("a heartbeat without a vector announced one")
	}
	huge := crdt.VersionVector{}
	for i := range sd.MaxVersionEntries + 1 {
		huge[peer.ID(string(rune(i)))] = 1
	}
	if d, sent = heartbeat(7, 9, nil, huge); d.Versions != nil || sent != nil {
		t.Fatal("a vector over the limit was announced")
	}
}
