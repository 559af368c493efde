package persistence

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// foldNow folds p's replica as the applier does.
func foldNow(t *testing.T, s *Store, p peer.ID) {
	t.Helper()
	rl := s.lockReplica(p)
	defer rl.mu.Unlock()
	if err := s.fold(rl, p, nil); err != nil {
		t.Fatal(err)
	}
}

func layoutOf(t *testing.T, s *Store, p peer.ID) replicaLayout {
	t.Helper()
	l, err := s.layout(p)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDigestViewOverPacksAndOverlay: with a replica across several packs and an overlay
// holding newer, older and new entries (deltas after a fold, some late), a view finds each
// CID's newer version, for lookups in order, skipping across packs, and out of order; the
// walk (DigestEntries) agrees.
func TestDigestViewOverPacksAndOverlay(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 3)
	now := time.Unix(1_700_000_000, 0).UTC()
	cids := make([][]byte, 3*packEntries+17) // a few packs (cut by bytes: about 900 records each)
	for i := range cids {
		cids[i] = mkCid(t, i).Bytes()
	}
	slices.SortFunc(cids, bytes.Compare)
	want := map[string]statusdigest.Entry{}
	apply := func(seq uint64, es []statusdigest.Entry) {
		t.Helper()
		for i := range es {
			es[i].Seq = seq
			if cur, ok := want[string(es[i].Cid)]; !ok || cur.Seq < seq {
				want[string(es[i].Cid)] = es[i]
			}
		}
		if _, err := s.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: seq, Entries: es}, now); err != nil {
			t.Fatal(err)
		}
	}
	entry := func(c []byte, st api.TrackerStatus, sec int) statusdigest.Entry {
		return statusdigest.Entry{Cid: c, Status: st, TS: now.Add(time.Duration(sec) * time.Second)}
	}
	var first []statusdigest.Entry
	for i, c := range cids {
		if i%5 != 4 { // some CIDs come only later, in the overlay
			first = append(first, entry(c, api.TrackerStatusPinning, i))
		}
	}
	apply(10, first)
	foldNow(t, s, p)
	if l := layoutOf(t, s, p); l.Loose != 0 || l.Packed != uint64(len(first)) || l.Dirty {
		t.Fatalf("layout after a fold %+v", l)
	}
	var newer, late []statusdigest.Entry
	for i, c := range cids {
		switch i % 5 {
		case 0:
			newer = append(newer, entry(c, api.TrackerStatusPinned, 1000+i))
		case 1:
			late = append(late, entry(c, api.TrackerStatusPinError, 2000+i)) // older than the pack's
		case 2:
			newer = append(newer, statusdigest.Entry{Cid: c}) // a tombstone
		case 4:
			newer = append(newer, entry(c, api.TrackerStatusUnpinning, 3000+i))
		}
	}
	apply(11, newer)
	apply(9, late)
	v := s.OpenDigestView()
	defer v.Close()
	check := func(i int) {
		t.Helper()
		e, ok, err := v.Lookup(p, cids[i])
		w, wok := want[string(cids[i])]
		wok = wok && !w.Deleted()
		if err != nil || ok != wok || ok && (e.Status != w.Status || !e.TS.Equal(w.TS) || e.Seq != w.Seq || !bytes.Equal(e.Cid, cids[i])) {
			t.Fatalf("cid %d: %+v %v %v, want %+v %v", i, e, ok, err, w, wok)
		}
	}
	for i := range cids {
		check(i)
	}
	for i := 0; i < len(cids); i += 97 { // skipping packs
		check(i)
	}
	for i := len(cids) - 1; i >= 0; i -= 7 { // backward: each call out of order
		check(i)
	}
	// A pass's bound lookups, in order, into one entry reused (and dirty to begin with): each
	// found entry is the want's whole, nothing left from the one before.
	bound := v.LookupIn(p)
	e := statusdigest.Entry{Error: "left over", Attempts: 9, Priority: true, Seq: 99}
	for i, c := range cids {
		ok, err := bound(c, &e)
		w, wok := want[string(c)]
		wok = wok && !w.Deleted()
		w.Cid = c
		if err != nil || ok != wok || ok && !reflect.DeepEqual(e, w) {
			t.Fatalf("bound, cid %d: %+v %v %v, want %+v %v", i, e, ok, err, w, wok)
		}
	}
	var got, exp strings.Builder
	if err := s.DigestEntries(t.Context(), p, func(e statusdigest.Entry) error {
		fmt.Fprintf(&got, "%x %s %d\n", e.Cid, e.Status, e.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cids {
		if w, ok := want[string(c)]; ok && !w.Deleted() {
			fmt.Fprintf(&exp, "%x %s %d\n", c, w.Status, w.Seq)
		}
	}
	if got.String() != exp.String() {
		t.Fatalf("walk:\n%s\nwant:\n%s", got.String(), exp.String())
	}
	checkUnpinIndex(t, s, p)
}

// TestDigestFoldAfterCrashes: a fold that stopped before its switch left packs of the next
// generation, and one that stopped after it left the old era and generation; neither shows in
// a view, and the next fold clears both.
func TestDigestFoldAfterCrashes(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 3)
	now := time.Now().UTC()
	var es []statusdigest.Entry
	for i := range 40 {
		es = append(es, statusdigest.Entry{Cid: mkCid(t, i).Bytes(), Status: api.TrackerStatusPinned, TS: now})
	}
	seq := uint64(0)
	apply := func(es []statusdigest.Entry) {
		t.Helper()
		seq++
		for i := range es {
			es[i].Seq = seq
		}
		if _, err := s.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: seq, Entries: es}, now); err != nil {
			t.Fatal(err)
		}
	}
	dump := func() string {
		return dumpDigest(t, func(ctx context.Context, fn func(statusdigest.Entry) error) error { return s.DigestEntries(ctx, p, fn) })
	}
	apply(slices.Clone(es[:20]))
	foldNow(t, s, p)
	before := dump()

	// A crash before the switch: packs of the next generation, written and never switched to.
	l := layoutOf(t, s, p)
	if err := s.update(func(txn *badger.Txn) error {
		var w packWriter
		w.prefix = packPrefix(p, l.Packs+1)
		v, _ := encodeDigestEntry(0, statusdigest.Entry{Status: api.TrackerStatusPinError, Seq: 99})
		w.add(mkCid(t, 1000).Bytes(), v)
		w.cut()
		return txn.Set(w.out[0].key, w.out[0].val)
	}); err != nil {
		t.Fatal(err)
	}
	if got := dump(); got != before {
		t.Fatalf("packs never switched to are read:\n%s", got)
	}
	// A crash after the switch: the replaced era and generation are still there (Dirty).
	apply(slices.Clone(es[20:]))
	l = layoutOf(t, s, p)
	rl := s.lockReplica(p)
	next := replicaLayout{Era: l.Era + 1, Packs: l.Packs + 1, Dirty: true, OldEra: l.Era, OldPacks: l.Packs}
	err := s.fold(rl, p, nil) // a whole fold, then its old ranges written back as if never deleted
	rl.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	after := dump()
	if err := s.update(func(txn *badger.Txn) error {
		v, _ := encodeDigestEntry(0, statusdigest.Entry{Status: api.TrackerStatusPinError, Seq: 98})
		if err := txn.Set(append(digestEraPrefix(p, next.OldEra), mkCid(t, 2000).Bytes()...), v); err != nil {
			return err
		}
		cur := layoutOf(t, s, p)
		cur.Dirty, cur.OldEra, cur.OldPacks = true, next.OldEra, next.OldPacks
		return setLayout(txn, p, cur)
	}); err != nil {
		t.Fatal(err)
	}
	if got := dump(); got != after || strings.Count(after, "\n") != len(es) {
		t.Fatalf("after a fold cut short:\n%s\nwant:\n%s", got, after)
	}
	foldNow(t, s, p)
	if got := dump(); got != after {
		t.Fatalf("after the next fold:\n%s\nwant:\n%s", got, after)
	}
	l = layoutOf(t, s, p)
	for _, prefix := range [][]byte{digestEraPrefix(p, next.OldEra), packPrefix(p, l.Packs-1), packPrefix(p, l.Packs+1)} {
		if got := rawPrefix(t, s, prefix); got != "" {
			t.Fatalf("left under %x:\n%s", prefix, got)
		}
	}
}

// TestDigestFoldsWhenQuiet: a replica is folded once a heartbeat finds it unchanged since the
// heartbeat before, not on the first, nor after a change; an overlay of foldMin entries or
// more is folded once it outgrows the packs.
func TestDigestFoldsWhenQuiet(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 3)
	now := time.Now()
	seq := uint64(0)
	delta := func(n int) {
		t.Helper()
		seq++
		var es []statusdigest.Entry
		for i := range n {
			es = append(es, statusdigest.Entry{Cid: mkCid(t, int(seq)*100_000+i).Bytes(), Status: api.TrackerStatusPinned, TS: now, Seq: seq})
		}
		if _, err := s.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: seq, Entries: es}, now); err != nil {
			t.Fatal(err)
		}
	}
	beat := func() replicaLayout {
		t.Helper()
		if _, err := s.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: seq, Heartbeat: true}, now); err != nil {
			t.Fatal(err)
		}
		return layoutOf(t, s, p)
	}
	delta(10)
	if l := beat(); l.Loose != 10 {
		t.Fatalf("folded on the first heartbeat: %+v", l)
	}
	delta(5)
	if l := beat(); l.Loose != 15 {
		t.Fatalf("folded on a heartbeat after a change: %+v", l)
	}
	if l := beat(); l.Loose != 0 || l.Packed != 15 {
		t.Fatalf("not folded on the second quiet heartbeat: %+v", l)
	}
	delta(foldMin - 1)
	if l := layoutOf(t, s, p); l.Loose != foldMin-1 {
		t.Fatalf("folded below foldMin: %+v", l)
	}
	delta(1)
	if l := layoutOf(t, s, p); l.Loose != 0 || l.Packed != 15+foldMin {
		t.Fatalf("not folded on size: %+v", l)
	}
	delta(foldMin) // fewer than packed
	if l := layoutOf(t, s, p); l.Loose != foldMin {
		t.Fatalf("folded before the overlay outgrew the packs: %+v", l)
	}
	delta(15)
	if l := layoutOf(t, s, p); l.Loose != 0 || l.Packed != 15+2*foldMin+15 {
		t.Fatalf("not folded once the overlay outgrew the packs: %+v", l)
	}
}

// TestDigestLocksPerReplica: while one replica's writer holds its lock (a long fold), the
// other replicas, the own digest and the readers go on. Two peers' stores in one process (the
// in-process harnesses) share nothing either.
func TestDigestLocksPerReplica(t *testing.T) {
	s, _ := openTemp(t)
	other, _ := openTemp(t)
	a, b := newPeer(t, 3), newPeer(t, 4)
	now := time.Now()
	held := s.lockReplica(a) // as a fold of a's replica holds it
	release := sync.OnceFunc(held.mu.Unlock)
	t.Cleanup(release) // before the stores' Close (cleanups run last first): a failure must not hang it
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			d := statusdigest.Digest{Epoch: 1, Seq: 1, Entries: []statusdigest.Entry{{Cid: mkCid(t, 1).Bytes(), Status: api.TrackerStatusPinned, TS: now, Seq: 1}}}
			if _, err := s.ApplyDigest(b, d, now); err != nil {
				return err
			}
			if _, err := s.WriteOwnDigest([]statusdigest.Entry{{Cid: mkCid(t, 2).Bytes(), Status: api.TrackerStatusPinned, TS: now}}, time.Time{}); err != nil {
				return err
			}
			if _, err := other.ApplyDigest(a, d, now); err != nil {
				return err
			}
			v := s.OpenDigestView()
			defer v.Close()
			if _, found, err := v.Lookup(b, mkCid(t, 1).Bytes()); err != nil || !found {
				return fmt.Errorf("b's entry: found %v, %v", found, err)
			}
			return nil
		}()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a bound on a hang, not a speed
		t.Fatal("writes of another replica, of the own digest, or of another store waited for a's lock")
	}
	release()
	if _, err := s.ApplyDigest(a, statusdigest.Digest{Epoch: 1, Seq: 1, Heartbeat: true}, now); err != nil {
		t.Fatal(err)
	}
}

// TestOldReplicaKeysDropped: a store of a version before packs loses its replica keys (and
// their index mark) at open, once; own digest keys stay. So it does after an earlier version
// opened the store again (a downgrade marks its index).
func TestOldReplicaKeysDropped(t *testing.T) {
	s, dir := openTemp(t)
	old := map[string]string{"sd/\x01p\x01": "x", "sdm/p": "{}", "sdu/\x01p\x01": "1", "m/sdunpins": "1", "sdo/\x01": "own"}
	write := func() {
		t.Helper()
		if err := s.update(func(txn *badger.Txn) error {
			for k, v := range old {
				if err := txn.Set([]byte(k), []byte(v)); err != nil {
					return err
				}
			}
			return txn.Delete(keyPackedReplicas)
		}); err != nil {
			t.Fatal(err)
		}
	}
	check := func() {
		t.Helper()
		for k := range old {
			got := rawPrefix(t, s, []byte(k))
			if k == "sdo/\x01" {
				if got == "" {
					t.Fatal("the own digest was dropped")
				}
			} else if got != "" {
				t.Fatalf("%q left: %s", k, got)
			}
		}
		if rawPrefix(t, s, keyPackedReplicas) == "" {
			t.Fatal("no mark")
		}
	}
	write()
	s = reopen(t, s, dir)
	check()
	// An earlier version opened it since: its own index mark is back, and its keys.
	if err := s.update(func(txn *badger.Txn) error {
		for k, v := range old {
			if err := txn.Set([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir)
	check()
}

// FuzzPackRecords: the pack record reader fails cleanly on any bytes, and reads back what
// the writer wrote.
func FuzzPackRecords(f *testing.F) {
	f.Add([]byte("\x02ab\x01c"), []byte("cid"), []byte("val"))
	f.Fuzz(func(t *testing.T, raw, c, v []byte) {
		for rest := raw; len(rest) > 0; {
			var err error
			if _, _, rest, err = nextPackRecord(rest); err != nil {
				break
			}
		}
		b := appendPackRecord(appendPackRecord(nil, c, v), v, c)
		c1, v1, rest, err := nextPackRecord(b)
		if err != nil || !bytes.Equal(c1, c) || !bytes.Equal(v1, v) {
			t.Fatalf("first record %x %x %v", c1, v1, err)
		}
		c2, v2, rest, err := nextPackRecord(rest)
		if err != nil || !bytes.Equal(c2, v) || !bytes.Equal(v2, c) || len(rest) != 0 {
			t.Fatalf("second record %x %x %v (%d left)", c2, v2, err, len(rest))
		}
	})
}

// TestDigestPullMarkSurvivesFolds: a pull's page marks an entry, folds put it in a pack, a late
// delta of the same change lands in the overlay unmarked, another fold: the pull's end keeps
// the entry (its mark, the higher gen, wins the tie of seqs).
func TestDigestPullMarkSurvivesFolds(t *testing.T) {
	s, _ := openTemp(t)
	p := newPeer(t, 3)
	now := time.Now().UTC()
	x := statusdigest.Entry{Cid: mkCid(t, 1).Bytes(), Status: api.TrackerStatusPinned, TS: now, Seq: 7}
	if _, err := s.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: 7, Entries: []statusdigest.Entry{x}}, now); err != nil {
		t.Fatal(err)
	}
	gen, err := s.StartDigestPull(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyDigestPage(p, gen, statusdigest.Page{Epoch: 1, Seq: 10, Entries: []statusdigest.Entry{x}}, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	foldNow(t, s, p)
	if _, err := s.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: 7, Entries: []statusdigest.Entry{x}}, now); err != nil { // late
		t.Fatal(err)
	}
	foldNow(t, s, p)
	if _, err := s.FinishDigestPull(p, gen, 1, 10, now); err != nil {
		t.Fatal(err)
	}
	v := s.OpenDigestView()
	defer v.Close()
	if _, ok, err := v.Lookup(p, x.Cid); !ok || err != nil {
		t.Fatalf("a live entry the pull brought was swept: %v %v", ok, err)
	}
}

// TestDigestFoldOnSmallMemtables: a fold's packs, and its deletes, go in parts when they
// exceed a transaction (Badger's limit follows the memtable size, which Options can lower).
func TestDigestFoldOnSmallMemtables(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), MemTableSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newPeer(t, 3)
	now := time.Now().UTC()
	long := strings.Repeat("e", 180) // 48 KiB packs of about 210 entries
	var es []statusdigest.Entry
	for i := range 6000 {
		es = append(es, statusdigest.Entry{Cid: mkCid(t, i).Bytes(), Status: api.TrackerStatusPinError, Error: long, TS: now, Seq: 1})
	}
	for start := 0; start < len(es); start += statusdigest.MaxEntries {
		part := es[start:min(len(es), start+statusdigest.MaxEntries)]
		if _, err := s.ApplyDigest(p, statusdigest.Digest{Epoch: 1, Seq: 1, Entries: part}, now); err != nil {
			t.Fatal(err)
		}
	}
	foldNow(t, s, p)
	if l := layoutOf(t, s, p); l.Loose != 0 || l.Packed != uint64(len(es)) {
		t.Fatalf("layout %+v", l)
	}
	n := 0
	if err := s.DigestEntries(t.Context(), p, func(statusdigest.Entry) error { n++; return nil }); err != nil || n != len(es) {
		t.Fatalf("%d entries after the fold, %v", n, err)
	}
}

// TestPackWriterCuts: a pack ends at packEntries records or once it holds packBytes, and a
// record that would take it past packMaxBytes (a long CID) starts the next, so that every
// pack stays under the store's value threshold; outBytes counts what take returns.
func TestPackWriterCuts(t *testing.T) {
	w := &packWriter{prefix: []byte("x/")}
	for i := range 2*packEntries + 10 { // small records: cut by count
		w.add(binary.BigEndian.AppendUint64(nil, uint64(i)), []byte{1, 2})
	}
	w.cut()
	if len(w.out) != 3 || w.count != 2*packEntries+10 {
		t.Fatalf("%d packs of %d records, want 3", len(w.out), w.count)
	}
	total := 0
	for _, p := range w.out {
		total += len(p.val)
	}
	if w.outBytes != total {
		t.Fatalf("outBytes %d, packs hold %d", w.outBytes, total)
	}
	if out := w.take(); len(out) != 3 || w.out != nil || w.outBytes != 0 {
		t.Fatalf("take: %d packs, left %d and %d bytes", len(out), len(w.out), w.outBytes)
	}
	v := make([]byte, 100)
	for i := range 3*447 + 446 { // cut by bytes (records of 110 bytes: 447 reach packBytes)
		w.add(binary.BigEndian.AppendUint64(nil, uint64(i)), v)
	}
	w.add(bytes.Repeat([]byte{0xff}, 14<<10), v) // a long CID: would take the pack past packMaxBytes
	w.cut()
	for i, p := range w.out {
		if len(p.val) > packMaxBytes {
			t.Fatalf("pack %d holds %d bytes, over %d", i, len(p.val), packMaxBytes)
		}
		if n := countRecords(t, p.val); i < len(w.out)-1 && n > packEntries {
			t.Fatalf("pack %d: %d records", i, n)
		}
	}
	if len(w.out) != 5 || countRecords(t, w.out[3].val) != 446 || countRecords(t, w.out[4].val) != 1 {
		t.Fatalf("%d packs, want three of 447 records, one of 446 and the long CID's alone", len(w.out))
	}
}

func countRecords(t *testing.T, b []byte) int {
	t.Helper()
	n := 0
	for len(b) > 0 {
		var err error
		if _, _, b, err = nextPackRecord(b); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}
