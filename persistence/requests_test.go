package persistence

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// reqPool are the request entries random pins draw from: well-formed ones (some sharing a
// created time) and malformed ones the index must ignore.
func reqPool() [][2]string {
	var pool [][2]string
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 24 {
		id := hex.EncodeToString(fmt.Appendf(nil, "request-id-%05d", i))
		created := base.Add(time.Duration(i/2) * time.Millisecond) // pairs share a created time
		v, _ := json.Marshal(map[string]any{"name": fmt.Sprint("r", i), "created": created.Format(time.RFC3339Nano)})
		pool = append(pool, [2]string{RequestMetaPrefix + id, string(v)})
	}
	return append(pool,
		[2]string{RequestMetaPrefix + "not-hex", `{"created":"2026-01-01T00:00:00Z"}`},
		[2]string{RequestMetaPrefix + strings.Repeat("AB", 16), `{"created":"2026-01-01T00:00:00Z"}`},
		[2]string{RequestMetaPrefix + strings.Repeat("ab", 16), `{"created":"bad"}`},
		[2]string{RequestMetaPrefix + strings.Repeat("cd", 16), `not json`},
		[2]string{RequestMetaPrefix + strings.Repeat("ef", 16), `{"created":"1960-01-01T00:00:00Z"}`},
	)
}

func randomRequestPinJSON(t testing.TB, r *rand.Rand, pool [][2]string, c api.Cid) []byte {
	p := api.NewPin(c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	p.Timestamp = time.Unix(1700000000, 0).UTC()
	if r.IntN(4) != 0 {
		p.Metadata = map[string]string{"pinsvc": "1"}
		for range r.IntN(4) {
			e := pool[r.IntN(len(pool))]
			p.Metadata[e[0]] = e[1]
		}
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type reqRow struct {
	created int64
	id, cid string
}

// scanRequests is the reference: every well-formed request entry of every live pin, newest
// first (ties: the greater id, then CID, first, as the index orders them).
func scanRequests(t *testing.T, s *Store) []reqRow {
	t.Helper()
	var out []reqRow
	err := s.IteratePinsJSON(t.Context(), func(c api.Cid, js []byte) error {
		f, err := api.PinFieldsOf(js)
		if err != nil {
			return err
		}
		for k, v := range f.Metadata {
			if id, created, ok := ParseRequestEntry(k, v); ok {
				out = append(out, reqRow{created.UnixNano(), hex.EncodeToString(id), string(c.Bytes())})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b reqRow) int {
		if a.created != b.created {
			return -cmpInt(a.created, b.created)
		}
		if a.id != b.id {
			return -strings.Compare(a.id, b.id)
		}
		return -strings.Compare(a.cid, b.cid)
	})
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func indexRequests(t *testing.T, s *Store, before time.Time) []reqRow {
	t.Helper()
	var out []reqRow
	err := s.Requests(t.Context(), before, func(r RequestRef) error {
		f, err := api.PinFieldsOf(r.PinJSON)
		if err != nil {
			return err
		}
		if _, ok := f.Metadata[RequestMetaPrefix+r.ID]; !ok {
			t.Fatalf("request %s: its pin JSON lacks the entry", r.ID)
		}
		out = append(out, reqRow{r.Created.UnixNano(), r.ID, string(r.Cid.Bytes())})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkRequests(t *testing.T, s *Store, step string) {
	t.Helper()
	want := scanRequests(t, s)
	if got := indexRequests(t, s, time.Time{}); !slices.Equal(got, want) {
		t.Fatalf("%s: index walk\n%v\nscan\n%v", step, got, want)
	}
	// Paging by before: every request strictly older (at most ~40 samples); and every request
	// by its id.
	stride := max(1, len(want)/40)
	for i, w := range want {
		if i%stride == 0 || i == len(want)-1 {
			b := time.Unix(0, w.created)
			var older []reqRow
			for _, x := range want {
				if x.created < w.created {
					older = append(older, x)
				}
			}
			if got := indexRequests(t, s, b); !slices.Equal(got, older) {
				t.Fatalf("%s: before %s: %v, want %v", step, b, got, older)
			}
		}
		refs, err := s.Request(t.Context(), w.id)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, r := range refs {
			if string(r.Cid.Bytes()) == w.cid && r.Created.UnixNano() == w.created {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: Request(%s) = %v lacks cid %x", step, w.id, refs, w.cid)
		}
	}
	// No orphans: every xr/ and xq/ key counted once per scanned entry.
	n := 0
	for _, prefix := range [][]byte{prefixReqIdx, prefixReqID} {
		if err := s.iterate(t.Context(), prefix, func(_, _ []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n != 2*len(want) {
		t.Fatalf("%s: %d request index keys for %d requests", step, n, len(want))
	}
}

// After any sequence of pins, updates, unpins, snapshot merges and prunes, the request index
// equals a scan of the pins' metadata, in order, by id and for every before; a rebuild too.
func TestRequestIndexEqualsScan(t *testing.T) {
	pool := reqPool()
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			s, _ := openTemp(t)
			origins := []peer.ID{newPeer(t, 1), newPeer(t, 2)}
			seqs := map[peer.ID]uint64{}
			clock := crdt.HLC(1000)
			for round := range 20 {
				var ops []crdt.Op
				for range 1 + r.IntN(15) {
					o := origins[r.IntN(len(origins))]
					seqs[o]++
					c := mkCid(t, r.IntN(30))
					clock += crdt.HLC(r.IntN(3))
					op := crdt.Op{Origin: o, Seq: seqs[o], Clock: clock, Kind: crdt.OpPin, Cid: c, PinJSON: randomRequestPinJSON(t, r, pool, c)}
					if r.IntN(4) == 0 {
						op.Kind, op.PinJSON = crdt.OpUnpin, nil
					}
					ops = append(ops, op)
				}
				mustApply(t, s, ops...)
				checkRequests(t, s, fmt.Sprint("round ", round))
				if round%6 == 2 {
					third := newPeer(t, 3)
					var recs []Record
					for i := range 4 {
						c := mkCid(t, r.IntN(30))
						clock++
						recs = append(recs, Record{Op: crdt.Op{Origin: third, Seq: uint64(round*10 + i + 1), Clock: clock, Kind: crdt.OpPin, Cid: c, PinJSON: randomRequestPinJSON(t, r, pool, c)}})
					}
					if _, err := s.ApplySnapshot(recs); err != nil {
						t.Fatal(err)
					}
					checkRequests(t, s, fmt.Sprint("snapshot at round ", round))
					vv := map[peer.ID]uint64{}
					for o, n := range seqs {
						vv[o] = n
					}
					if _, err := s.PruneAbsent(t.Context(), api.CidUndef, api.CidUndef, nil, vv); err != nil {
						t.Fatal(err)
					}
					checkRequests(t, s, fmt.Sprint("prune at round ", round))
				}
			}
			if _, err := s.RebuildIndexes(t.Context()); err != nil {
				t.Fatal(err)
			}
			checkRequests(t, s, "after rebuild")
		})
	}
}

// The walk crosses its page boundary (requestPage) without skipping or repeating a request.
func TestRequestsPaging(t *testing.T) {
	s, _ := openTemp(t)
	o := newPeer(t, 1)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var ops []crdt.Op
	for i := range 2*requestPage + 17 {
		c := mkCid(t, i)
		p := api.NewPin(c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
		id := hex.EncodeToString(fmt.Appendf(nil, "paging-req-%05d", i))
		v, _ := json.Marshal(map[string]string{"created": base.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano)})
		p.Metadata = map[string]string{RequestMetaPrefix + id: string(v)}
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, crdt.Op{Origin: o, Seq: uint64(i + 1), Clock: crdt.HLC(100 + i), Kind: crdt.OpPin, Cid: c, PinJSON: js})
	}
	mustApply(t, s, ops...)
	got := indexRequests(t, s, time.Time{})
	if len(got) != len(ops) {
		t.Fatalf("walk found %d requests, want %d", len(got), len(ops))
	}
	for i, r := range got {
		if want := base.Add(time.Duration(len(ops)-1-i) * time.Microsecond).UnixNano(); r.created != want {
			t.Fatalf("item %d: created %d, want %d", i, r.created, want)
		}
	}
	checkRequests(t, s, "paging")
}
