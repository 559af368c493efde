package persistence

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

var indexNames = []string{"", "", "alpha", "Alpha", "ALPHA", "beta", "gamma delta", "a\x00b", "Ünïcode"}

func randomPinJSON(t testing.TB, r *rand.Rand, c api.Cid) []byte {
	p := api.NewPin(c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Name: indexNames[r.IntN(len(indexNames))]})
	p.Timestamp = time.Unix(1700000000, 0).UTC()
	if r.IntN(3) == 0 {
		p.Metadata = map[string]string{}
		for range 1 + r.IntN(2) {
			p.Metadata[[]string{"team", "env", "k\x00"}[r.IntN(3)]] = []string{"a", "b", "prod"}[r.IntN(3)]
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scanMatches is the reference: every live pin whose fields satisfy q, by a full scan.
func scanMatches(t *testing.T, s *Store, q api.PinQuery) []string {
	t.Helper()
	var out []string
	err := s.IteratePinsJSON(t.Context(), func(c api.Cid, js []byte) error {
		if ok, err := q.MatchesJSON(js); err != nil || ok {
			out = append(out, c.String())
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// indexMatches answers q from the index and checks each candidate as a service would.
func indexMatches(t *testing.T, s *Store, q api.PinQuery) []string {
	t.Helper()
	var out []string
	fn := func(cid, js []byte) error {
		if ok, err := q.MatchesJSON(js); err != nil || !ok {
			return err
		}
		c, err := api.CastCid(cid)
		if err != nil {
			return err
		}
		out = append(out, c.String())
		return nil
	}
	var err error
	if q.Name != "" {
		err = s.LookupName(t.Context(), q.Name, fn)
	} else {
		for k, v := range q.Meta {
			err = s.LookupMeta(t.Context(), k, v, fn)
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func indexQueries() []api.PinQuery {
	var qs []api.PinQuery
	for _, n := range indexNames {
		if n != "" {
			qs = append(qs, api.PinQuery{Name: n}, api.PinQuery{Name: n, NameMatch: api.MatchIExact})
		}
	}
	for _, k := range []string{"team", "env", "k\x00"} {
		for _, v := range []string{"a", "b", "prod"} {
			qs = append(qs, api.PinQuery{Meta: map[string]string{k: v}})
		}
	}
	qs = append(qs, api.PinQuery{Name: "alpha", NameMatch: api.MatchIExact, Meta: map[string]string{"team": "a"}})
	return qs
}

func checkIndex(t *testing.T, s *Store, step string) {
	t.Helper()
	// No orphans: every index key belongs to a live record that has it.
	for _, prefix := range [][]byte{prefixNameIdx, prefixMetaIdx} {
		err := s.db.View(func(txn *badger.Txn) error {
			return iterateTxn(t.Context(), txn, prefix, prefix, func(key, _ []byte) error {
				k := append([]byte(nil), key...)
				for cut := len(k) - 1; cut > len(prefix); cut-- { // the CID follows the last 0
					if k[cut] != 0 {
						continue
					}
					item, err := txn.Get(pinKeyOf(k[cut+1:]))
					if err != nil {
						continue // a 0 inside the CID: try further left
					}
					return item.Value(func(v []byte) error {
						js := pinJSONOf(v)
						if js == nil || !containsKey(indexKeys(k[cut+1:], js), k) {
							t.Fatalf("%s: orphan index key %q", step, k)
						}
						return nil
					})
				}
				t.Fatalf("%s: index key %q names no record", step, k)
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range indexQueries() {
		want, got := scanMatches(t, s, q), indexMatches(t, s, q)
		if !slices.Equal(want, got) {
			t.Fatalf("%s: query %+v: index found %v, a scan %v", step, q, got, want)
		}
	}
}

// After any sequence of pins, updates, unpins, snapshot merges and prunes, from several
// origins and in any order, index lookups equal a full scan; and a rebuild gives the same.
func TestIndexEqualsScan(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			s, _ := openTemp(t)
			origins := []peer.ID{newPeer(t, 1), newPeer(t, 2)}
			seqs := map[peer.ID]uint64{}
			clock := crdt.HLC(1000)
			for round := range 30 {
				var ops []crdt.Op
				for range 1 + r.IntN(20) {
					o := origins[r.IntN(len(origins))]
					seqs[o]++
					c := mkCid(t, r.IntN(40))
					clock += crdt.HLC(r.IntN(3)) // equal clocks too: the origin breaks ties
					op := crdt.Op{Origin: o, Seq: seqs[o], Clock: clock, Kind: crdt.OpPin, Cid: c, PinJSON: randomPinJSON(t, r, c)}
					if r.IntN(4) == 0 {
						op.Kind, op.PinJSON = crdt.OpUnpin, nil
					}
					ops = append(ops, op)
				}
				if r.IntN(2) == 0 {
					r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
				}
				mustApply(t, s, ops...)
				checkIndex(t, s, fmt.Sprint("round ", round))
				if round%7 == 3 { // a snapshot from a peer that saw newer ops of a third origin
					third := newPeer(t, 3)
					var recs []Record
					for i := range 5 {
						c := mkCid(t, r.IntN(40))
						clock++
						recs = append(recs, Record{Op: crdt.Op{Origin: third, Seq: uint64(round*10 + i + 1), Clock: clock, Kind: crdt.OpPin, Cid: c, PinJSON: randomPinJSON(t, r, c)}})
					}
					if _, err := s.ApplySnapshot(recs); err != nil {
						t.Fatal(err)
					}
					checkIndex(t, s, fmt.Sprint("snapshot at round ", round))
					vv := map[peer.ID]uint64{}
					for o, n := range seqs {
						vv[o] = n
					}
					if _, err := s.PruneAbsent(t.Context(), api.CidUndef, api.CidUndef, nil, vv); err != nil {
						t.Fatal(err)
					}
					checkIndex(t, s, fmt.Sprint("prune at round ", round))
				}
			}
			before := map[string][]string{}
			for _, q := range indexQueries() {
				before[fmt.Sprint(q)] = indexMatches(t, s, q)
			}
			if _, err := s.RebuildIndexes(t.Context()); err != nil {
				t.Fatal(err)
			}
			checkIndex(t, s, "after rebuild")
			for _, q := range indexQueries() {
				if got := indexMatches(t, s, q); !slices.Equal(got, before[fmt.Sprint(q)]) {
					t.Fatalf("rebuild changed %+v: %v, was %v", q, got, before[fmt.Sprint(q)])
				}
			}
		})
	}
}

// A store of an earlier version (no m/indexed) refuses lookups until rebuilt, and a reopened
// store keeps its mark.
func TestIndexMarker(t *testing.T) {
	s, dir := openTemp(t)
	if !s.Indexed() {
		t.Fatal("a new store is not indexed")
	}
	c := mkCid(t, 1)
	mustApply(t, s, pinOp(t, newPeer(t, 1), 1, 5, c, "named"))
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyIndexed) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Indexed() {
		t.Fatal("a store without m/indexed reports indexed")
	}
	if err := s.LookupName(t.Context(), "named", func(_, _ []byte) error { return nil }); err != ErrNotIndexed {
		t.Fatalf("lookup on an unindexed store: %v, want ErrNotIndexed", err)
	}
	if n, err := s.RebuildIndexes(t.Context()); err != nil || n != 1 {
		t.Fatalf("rebuild: %d, %v; want 1 pin indexed", n, err)
	}
	n := 0
	if err := s.LookupName(t.Context(), "NAMED", func(_, _ []byte) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("lookup after rebuild: %d, %v", n, err)
	}
}
