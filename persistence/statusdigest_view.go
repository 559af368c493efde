package persistence

import (
	"bytes"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/statusdigest"
)

// The read side of the replicas: a global status pass's snapshot (DigestView), merging each
// peer's overlay and packs (statusdigest_packs.go) as it walks the pinset.

// DigestView is a read snapshot of the replicas for one global status pass: Lookup walks a
// forward cursor over each peer's overlay and another over its packs, so CIDs must be asked in
// ascending binary order per peer (the pinset's order); a CID asked out of order is looked up
// with a seek. Close it when done: it holds the store's gate until then, so the store's Close
// waits for it (lifegate.go).
type DigestView struct {
	txn   *badger.Txn // nil: closed, or the store was closing
	s     *Store      // nil: a view of the store's own (at open), outside the gate
	iters map[peer.ID]*viewIter
}

// viewIter is one peer's cursors and the last key asked of them.
type viewIter struct {
	it     *badger.Iterator // the overlay's (nil: empty)
	prefix []byte           // the overlay's key prefix (the peer's live era)
	// last is the key of the previous Lookup (a call out of order seeks back); next is a spare
	// buffer for the following key: the two are swapped, so a pass allocates no key per call.
	last, next []byte
	pc         *packCursor        // nil: no packs
	packLast   []byte             // the CID the pack cursor was last asked
	spare      statusdigest.Entry // the overlay's version of an entry, beside the packs'
}

// OpenDigestView opens a read snapshot of the replicas. On a closing store the view answers
// ErrClosed.
func (s *Store) OpenDigestView() *DigestView {
	if s.enter() != nil {
		return &DigestView{}
	}
	return &DigestView{txn: s.db.NewTransaction(false), s: s, iters: map[peer.ID]*viewIter{}}
}

// iter is p's cursors, opened on first use from p's layout in the snapshot.
func (v *DigestView) iter(p peer.ID) (*viewIter, error) {
	if vi := v.iters[p]; vi != nil {
		return vi, nil
	}
	l, err := getLayout(v.txn, p)
	if err != nil {
		return nil, err
	}
	vi := &viewIter{prefix: digestEraPrefix(p, l.Era)}
	if l.Loose > 0 {
		opts := badger.DefaultIteratorOptions
		// Values are small and inline: reading them in place beats prefetching copies.
		opts.Prefix, opts.PrefetchValues = vi.prefix, false
		vi.it = v.txn.NewIterator(opts)
	}
	if l.Packed > 0 {
		vi.pc = newPackCursor(v.txn, packPrefix(p, l.Packs))
	}
	v.iters[p] = vi
	return vi, nil
}

// Lookup is p's entry for the binary CID c in the snapshot (found false: none, or a
// tombstone): the newer of its overlay and pack versions.
func (v *DigestView) Lookup(p peer.ID, c []byte) (statusdigest.Entry, bool, error) {
	var e statusdigest.Entry
	if v.txn == nil {
		return e, false, ErrClosed
	}
	vi, err := v.iter(p)
	if err != nil {
		return e, false, err
	}
	found, err := v.lookup(vi, c, &e)
	if !found {
		e = statusdigest.Entry{}
	}
	return e, found, err
}

// LookupIn is Lookup bound to p, into *e (undefined when not found or on error): p's cursors
// are found once, on the first call, rather than in the view's map per call (a map lookup was
// 6% of a global status pass at 20 members), and the entry is written in place rather than
// copied out through each call.
func (v *DigestView) LookupIn(p peer.ID) func(c []byte, e *statusdigest.Entry) (bool, error) {
	var vi *viewIter
	return func(c []byte, e *statusdigest.Entry) (bool, error) {
		if v.txn == nil {
			return false, ErrClosed
		}
		if vi == nil {
			var err error
			if vi, err = v.iter(p); err != nil {
				return false, err
			}
		}
		return v.lookup(vi, c, e)
	}
}

// lookup is Lookup in vi, p's cursors, into *e (undefined when not found or on error): the
// newer of its versions as a fold sees them (newer).
func (v *DigestView) lookup(vi *viewIter, c []byte, e *statusdigest.Entry) (bool, error) {
	found := false
	var gen uint64
	if vi.pc != nil {
		var err error
		if found, gen, err = v.pack(vi, c, e); err != nil {
			return false, err
		}
	}
	if vi.it != nil {
		ofound, ogen, err := v.overlay(vi, c, &vi.spare)
		if err != nil {
			return false, err
		}
		if ofound && (!found || !packWins(vi.spare.Seq, ogen, e.Seq, gen)) {
			*e, found = vi.spare, true
		}
	}
	if !found || e.Deleted() {
		return false, nil
	}
	e.Cid = c
	return true, nil
}

// overlay is c's entry in vi's overlay, into *e, and its gen.
func (v *DigestView) overlay(vi *viewIter, c []byte, e *statusdigest.Entry) (found bool, gen uint64, err error) {
	key := append(append(vi.next[:0], vi.prefix...), c...)
	if vi.last == nil || bytes.Compare(key, vi.last) < 0 {
		vi.it.Seek(key) // first, or asked out of order
	}
	vi.next, vi.last = vi.last, key
	it := vi.it
	for steps := 0; it.Valid() && bytes.Compare(it.Item().Key(), key) < 0; steps++ {
		if steps == 16 { // far behind: seek rather than walk
			it.Seek(key)
			break
		}
		it.Next()
	}
	if !it.Valid() || !bytes.Equal(it.Item().Key(), key) {
		return false, 0, nil
	}
	err = it.Item().Value(func(val []byte) error {
		var err error
		gen, err = decodeStoredValueTo(c, val, e)
		return err
	})
	return err == nil, gen, err
}

// pack is c's entry in vi's packs, into *e, and its gen.
func (v *DigestView) pack(vi *viewIter, c []byte, e *statusdigest.Entry) (bool, uint64, error) {
	pc := vi.pc
	var err error
	switch {
	case pc.c != nil && vi.packLast != nil && pc.stepTo(c):
		// A pass's usual step: c is the record after the cursor's, which is at or after the
		// CID asked before (so c is in order), in the same pack.
	case vi.packLast == nil || bytes.Compare(c, vi.packLast) < 0:
		err = pc.seek(c) // first, or asked out of order
	default:
		err = pc.skipTo(c)
	}
	vi.packLast = append(vi.packLast[:0], c...)
	if err != nil || pc.c == nil || !bytes.Equal(pc.c, c) {
		return false, 0, err
	}
	gen, err := decodeStoredValueTo(c, pc.v, e)
	return err == nil, gen, err
}

// closeIters closes every cursor of the view.
func (v *DigestView) closeIters() {
	for _, vi := range v.iters {
		if vi.it != nil {
			vi.it.Close()
		}
		if vi.pc != nil {
			vi.pc.close()
		}
	}
	v.iters = nil
}

// Close releases the snapshot; a second Close does nothing.
func (v *DigestView) Close() {
	if v.txn == nil {
		return
	}
	v.closeIters()
	v.txn.Discard()
	v.txn = nil
	if v.s != nil {
		v.s.leave()
	}
}
