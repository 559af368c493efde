package persistence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/testpeer"
)

// newPeer is a peer ID that is the same for the same seed (internal/testpeer).
var newPeer = testpeer.ID

// sortedPeers returns n distinct peers in ascending ID order.
func sortedPeers(t testing.TB, n int) []peer.ID {
	ps := make([]peer.ID, n)
	for i := range ps {
		ps[i] = newPeer(t, byte(i+1))
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

func mkCid(t testing.TB, i int) api.Cid {
	h, err := multihash.Sum([]byte(fmt.Sprintf("cid-%d", i)), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.DagProtobuf, h))
}

func pinJSON(t testing.TB, c api.Cid, name string) []byte {
	p := api.NewPin(c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Name: name})
	p.Timestamp = time.Unix(1700000000, 0).UTC()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pinOp(t testing.TB, origin peer.ID, seq uint64, clock crdt.HLC, c api.Cid, name string) crdt.Op {
	return crdt.Op{Origin: origin, Seq: seq, Clock: clock, Kind: crdt.OpPin, Cid: c, PinJSON: pinJSON(t, c, name)}
}

func unpinOp(origin peer.ID, seq uint64, clock crdt.HLC, c api.Cid) crdt.Op {
	return crdt.Op{Origin: origin, Seq: seq, Clock: clock, Kind: crdt.OpUnpin, Cid: c}
}

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// reopen closes s and opens its folder again (Badger's directory lock is released by Close);
// the new store is closed when the test ends.
func reopen(t testing.TB, s *Store, dir string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mustApply applies ops and returns which of them won.
func mustApply(t testing.TB, s *Store, ops ...crdt.Op) []bool {
	t.Helper()
	ch, err := s.Apply(ops)
	if err != nil {
		t.Fatal(err)
	}
	won := make([]bool, len(ch))
	for i, e := range ch {
		won[i] = e.Won()
	}
	return won
}

// dump lists the live pins as "cid name" lines, in iteration order.
func dumpPins(t testing.TB, s *Store) string {
	t.Helper()
	var buf bytes.Buffer
	err := s.IteratePinsJSON(t.Context(), func(c api.Cid, js []byte) error {
		fmt.Fprintf(&buf, "%s %s\n", c, js)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
