package statusdigest

import (
	"context"
	"maps"
	"sync/atomic"
	"testing"
	"time"

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

// beatStore is an empty own digest at version (7, 0).
type beatStore struct{ ownStore }

func (beatStore) OwnDigestVersion() (uint64, uint64, error) { return 7, 0, nil }

// topicFunc is a Topic publishing to a function.
type topicFunc func(data []byte)

func (f topicFunc) PublishStatus(_ context.Context, data []byte) error { f(data); return nil }

// Heartbeats tell this peer's peername and IPFS peer ID (Deps.Identity, asked in the
// heartbeat's worker, under a deadline); one whose IPFS node did not answer tells the name.
func TestHeartbeatTellsIdentity(t *testing.T) {
	ipfsID := testpeer.ID(t, 5).String()
	var answered atomic.Bool
	identity := func(ctx context.Context) (string, string) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("Identity was called without a deadline")
		}
		if answered.CompareAndSwap(false, true) {
			return "alpha", "" // the IPFS node did not answer the first time
		}
		return "alpha", ipfsID
	}
	beats := make(chan sd.Digest, 64)
	topic := topicFunc(func(b []byte) {
		d, err := sd.Decode(b)
		if err != nil {
			t.Error(err)
			return
		}
		if d.Heartbeat {
			select {
			case beats <- d:
			default:
			}
		}
	})
	cfg := Default()
	cfg.Heartbeat = 10 * time.Millisecond
	spawnWith(t, Deps{Store: &beatStore{}, Topic: topic, Local: localPass{}, Config: cfg, Identity: identity})
	next := func() sd.Digest {
		t.Helper()
		select {
		case d := <-beats:
			return d
		case <-time.After(10 * time.Second):
			t.Fatal("no heartbeat")
			return sd.Digest{}
		}
	}
	if d := next(); d.Epoch != 7 || d.Peername != "alpha" || d.IPFS != "" {
		t.Fatalf("first heartbeat: %+v", d)
	}
	if d := next(); d.Peername != "alpha" || d.IPFS != ipfsID {
		t.Fatalf("second heartbeat: %+v", d)
	}
}
