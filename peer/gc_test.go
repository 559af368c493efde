package peer

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/syncer"
)

func gcPeer(t *testing.T, seed byte) libp2ppeer.ID {
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := libp2ppeer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestStableVV(t *testing.T) {
	self, p, q := gcPeer(t, 1), gcPeer(t, 2), gcPeer(t, 3)
	o1, o2 := gcPeer(t, 10), gcPeer(t, 11)
	now := time.Unix(1700000000, 0)
	notBefore := now.Add(-30 * time.Second)
	fresh := func(vv map[libp2ppeer.ID]uint64) syncer.SeenVV { return syncer.SeenVV{VV: vv, At: now} }
	type vv = map[libp2ppeer.ID]uint64
	cases := []struct {
		name        string
		members     []libp2ppeer.ID
		local       vv
		seen        map[libp2ppeer.ID]syncer.SeenVV
		want        vv
		wantMissing []libp2ppeer.ID
	}{
		{"alone: own vector", []libp2ppeer.ID{self}, vv{o1: 5, o2: 0}, nil, vv{o1: 5}, nil},
		{"self not listed still counts", nil, vv{o1: 5}, nil, vv{o1: 5}, nil},
		{"pointwise minimum", []libp2ppeer.ID{self, p, q}, vv{o1: 5, o2: 9},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 7, o2: 3}), q: fresh(vv{o1: 4, o2: 8})},
			vv{o1: 4, o2: 3}, nil},
		{"origin absent from one peer counts as 0", []libp2ppeer.ID{self, p}, vv{o1: 5, o2: 9},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 7})}, vv{o1: 5}, nil},
		{"origin unknown locally is left out", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 7, o2: 4})}, vv{o1: 5}, nil},
		{"member never seen", []libp2ppeer.ID{self, p, q}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 7})}, nil, []libp2ppeer.ID{q}},
		{"member seen too long ago", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: {VV: vv{o1: 7}, At: notBefore.Add(-time.Second)}}, nil, []libp2ppeer.ID{p}},
		{"non-members ignored", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{o1: 7}), q: fresh(vv{o1: 1})}, vv{o1: 5}, nil},
		{"empty peer vector: nothing", []libp2ppeer.ID{self, p}, vv{o1: 5},
			map[libp2ppeer.ID]syncer.SeenVV{p: fresh(vv{})}, vv{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, missing := stableVV(self, tc.members, tc.local, tc.seen, notBefore)
			if !reflect.DeepEqual(missing, tc.wantMissing) {
				t.Fatalf("missing=%v want %v", missing, tc.wantMissing)
			}
			if tc.want == nil {
				if got != nil {
					t.Fatalf("upTo=%v with members missing", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("upTo=%v want %v", got, tc.want)
			}
		})
	}
}
