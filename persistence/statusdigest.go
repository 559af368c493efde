package persistence

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/internal/wirepb"
	"github.com/pincluster/pincluster/statusdigest"
)

// Status digests (statusdigest, actors/statusdigest): this peer's own digest, which it
// publishes, and its replica of every other peer's:
//
//	sdo/<cid>                           own entry (wirepb.DigestEntry without its CID)
//	sdv                                 own version: epoch(8 BE) | seq(8 BE)
//	sr/<len(peer)><peer><era><cid>      replica entry written since the last fold (the
//	                                    overlay): uvarint gen | wirepb.DigestEntry without CID
//	srp/<len(peer)><peer><gen><cid>     replica pack: the folded entries up to <cid> since
//	                                    the pack before (statusdigest_packs.go)
//	srl/<peer>                          replica layout: live era, pack generation, counts
//	srm/<peer>                          replica meta (statusdigest.Meta, JSON)
//	sru/<len(peer)><peer><cid>          index of the replica entries that are unpins in
//	                                    flight: uvarint status; complete once m/srunpins is set
//
// (<era> and <gen> are 8 bytes big-endian.) The replica keys of versions before packs (sd/,
// sdm/, sdu/, m/sdunpins) are dropped at open (dropOldReplicas): a replica is a copy that the
// next pull brings back, and an earlier version finds no replica of ours to misread.
//
// The status digest actor's workers are the only writers of all of them (its own digest's
// writer; its applier and its pull, for the replicas), but for the unpin index's build when a
// store is opened or a backup loaded (indexDigestUnpins). Badger here detects no conflicts,
// so the read-modify-writes are serialised: the own digest's by ownDigestMu, each replica's by
// its own lock (lockReplica), so that a long fold of one replica holds back neither the own
// digest nor a pull of another (the applier's batch still waits for a fold it runs). Replica
// entries are in binary CID order per peer, the pinset's order, so global status
// reads them with forward cursors per peer (its overlay's and its packs') alongside the pinset
// (DigestView).

var (
	prefixOwnDigest     = []byte("sdo/")
	keyOwnDigestVer     = []byte("sdv")
	prefixDigest        = []byte("sr/")
	prefixDigestPack    = []byte("srp/")
	prefixDigestLayout  = []byte("srl/")
	prefixDigestMeta    = []byte("srm/")
	prefixDigestUnpin   = []byte("sru/")
	keyDigestUnpinsIdx  = []byte("m/srunpins")
	digestDeleteBatch   = 4096
	errDigestEpochMoved = fmt.Errorf("status digest: the publisher's epoch changed during a pull")
	// errDigestEpochRetired: a pull's first page of an epoch the replica just left
	// (statusdigest.RetiredWindow); a later pull asks again.
	errDigestEpochRetired = fmt.Errorf("status digest: a pull answered for an epoch this replica left less than %s ago", statusdigest.RetiredWindow)
)

func ownDigestKey(c []byte) []byte { return append(append([]byte{}, prefixOwnDigest...), c...) }

// peerPrefix is prefix followed by p, its length first.
func peerPrefix(prefix []byte, p peer.ID) []byte {
	k := make([]byte, 0, len(prefix)+1+len(p)+8+40)
	k = append(k, prefix...)
	k = append(k, byte(len(p)))
	return append(k, p...)
}

// digestPeerPrefix is the prefix of every overlay entry of p, all eras.
func digestPeerPrefix(p peer.ID) []byte { return peerPrefix(prefixDigest, p) }

// digestEraPrefix is the prefix of p's overlay entries of era.
func digestEraPrefix(p peer.ID, era uint64) []byte {
	return binary.BigEndian.AppendUint64(digestPeerPrefix(p), era)
}

// digestKey is p's overlay key of the binary CID c in era 0, a new replica's.
func digestKey(p peer.ID, c []byte) []byte { return append(digestEraPrefix(p, 0), c...) }

// unpinKey is the unpin index key of p's entry of the binary CID c.
func unpinKey(p peer.ID, c []byte) []byte { return append(unpinPeerPrefix(p), c...) }

// unpinPeerPrefix is the prefix of p's keys in the unpin index.
func unpinPeerPrefix(p peer.ID) []byte { return peerPrefix(prefixDigestUnpin, p) }

func digestMetaKey(p peer.ID) []byte { return append(append([]byte{}, prefixDigestMeta...), p...) }

func encodeDigestEntry(gen uint64, e statusdigest.Entry) ([]byte, error) {
	w := statusdigest.EntryToWire(e)
	w.Cid = nil
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
	if err != nil {
		return nil, err
	}
	return append(binary.AppendUvarint(nil, gen), b...), nil
}

func decodeDigestEntry(c, v []byte) (gen uint64, e statusdigest.Entry, err error) {
	gen, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, e, fmt.Errorf("persistence: corrupt status digest entry")
	}
	var w wirepb.DigestEntry
	if err := proto.Unmarshal(v[n:], &w); err != nil {
		return 0, e, fmt.Errorf("persistence: corrupt status digest entry: %w", err)
	}
	w.Cid = append([]byte{}, c...)
	e, err = statusdigest.EntryFromWire(&w)
	return gen, e, err
}

func getDigestEntry(txn *badger.Txn, key, c []byte) (uint64, statusdigest.Entry, bool, error) {
	item, err := txn.Get(key)
	if err == badger.ErrKeyNotFound {
		return 0, statusdigest.Entry{}, false, nil
	}
	if err != nil {
		return 0, statusdigest.Entry{}, false, err
	}
	gen, e, err := itemDigestEntry(item, c)
	return gen, e, err == nil, err
}

// itemDigestEntry decodes the stored entry of the binary CID c that item holds.
func itemDigestEntry(item *badger.Item, c []byte) (gen uint64, e statusdigest.Entry, err error) {
	err = item.Value(func(v []byte) error {
		gen, e, err = decodeDigestEntry(c, v)
		return err
	})
	return gen, e, err
}

func getOwnVersion(txn *badger.Txn) (epoch, seq uint64, err error) {
	item, err := txn.Get(keyOwnDigestVer)
	if err == badger.ErrKeyNotFound {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	err = item.Value(func(v []byte) error {
		if len(v) != 16 {
			return fmt.Errorf("persistence: corrupt status digest version")
		}
		epoch, seq = binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
		return nil
	})
	return epoch, seq, err
}

func ownVersionValue(epoch, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, epoch), seq)
}

// OwnDigestVersion is this peer's digest version, its epoch chosen (at random) and stored on
// the first call.
func (s *Store) OwnDigestVersion() (epoch, seq uint64, err error) {
	if err := s.enter(); err != nil {
		return 0, 0, err
	}
	defer s.leave()
	return s.ownDigestVersion()
}

// ownDigestVersion is OwnDigestVersion for a caller inside the gate.
func (s *Store) ownDigestVersion() (epoch, seq uint64, err error) {
	s.ownDigestMu.Lock()
	defer s.ownDigestMu.Unlock()
	err = s.db.View(func(txn *badger.Txn) error {
		epoch, seq, err = getOwnVersion(txn)
		return err
	})
	if err != nil || epoch != 0 {
		return epoch, seq, err
	}
	if epoch, err = newEpoch(0); err != nil {
		return 0, 0, err
	}
	err = s.update(func(txn *badger.Txn) error { return txn.Set(keyOwnDigestVer, ownVersionValue(epoch, 0)) })
	return epoch, 0, err
}

// newEpoch is a random digest epoch, neither 0 (none) nor old.
func newEpoch(old uint64) (uint64, error) {
	var b [8]byte
	for epoch := uint64(0); ; {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		if epoch = binary.BigEndian.Uint64(b[:]); epoch != 0 && epoch != old {
			return epoch, nil
		}
	}
}

// WriteOwnDigest stores the changes of this peer's statuses (at most statusdigest.MaxEntries;
// a tombstone removes an entry) and returns the delta to publish: the entries that differ
// from what was stored, at the next seq. Nothing changed: an empty delta, the seq unchanged.
// A non-zero since (a reconcile's start) skips the changes of entries stored with a later
// timestamp: the tracker changed them after the reconcile read its snapshot.
func (s *Store) WriteOwnDigest(changes []statusdigest.Entry, since time.Time) (statusdigest.Digest, error) {
	if err := s.enter(); err != nil {
		return statusdigest.Digest{}, err
	}
	defer s.leave()
	if len(changes) > statusdigest.MaxEntries {
		return statusdigest.Digest{}, fmt.Errorf("persistence: %d status digest changes (limit %d)", len(changes), statusdigest.MaxEntries)
	}
	if _, _, err := s.ownDigestVersion(); err != nil {
		return statusdigest.Digest{}, err
	}
	s.ownDigestMu.Lock()
	defer s.ownDigestMu.Unlock()
	var d statusdigest.Digest
	err := s.update(func(txn *badger.Txn) error {
		epoch, seq, err := getOwnVersion(txn)
		if err != nil {
			return err
		}
		d = statusdigest.Digest{Epoch: epoch, Seq: seq + 1}
		seen := map[string]bool{}
		for i := len(changes) - 1; i >= 0; i-- { // the last change of a CID wins
			e := changes[i]
			if seen[string(e.Cid)] {
				continue
			}
			seen[string(e.Cid)] = true
			key := ownDigestKey(e.Cid)
			_, cur, found, err := getDigestEntry(txn, key, e.Cid)
			if err != nil {
				return err
			}
			// A first entry that says pin_queued is left out: readers show an allocated peer
			// with no entry as pin_queued already, and during a batch ingest nearly every change
			// is that one (writing and gossiping it cost a replicated ingest half its rate).
			if (!found && e.ShownByAbsence()) || (found && cur.Same(e)) || (found && !since.IsZero() && cur.TS.After(since)) {
				continue
			}
			e.Seq = d.Seq
			if e.Deleted() {
				err = txn.Delete(key)
			} else {
				var v []byte
				if v, err = encodeDigestEntry(0, e); err == nil {
					err = txn.Set(key, v)
				}
			}
			if err != nil {
				return err
			}
			d.Entries = append(d.Entries, e)
		}
		if len(d.Entries) == 0 {
			d.Seq = seq
			return nil
		}
		return txn.Set(keyOwnDigestVer, ownVersionValue(epoch, d.Seq))
	})
	return d, err
}

// OwnDigestPage reads a page of this peer's own entries after the binary CID after (nil: from
// the first), at most limit, with the version they were read at.
func (s *Store) OwnDigestPage(after []byte, limit int) (statusdigest.Page, error) {
	if err := s.enter(); err != nil {
		return statusdigest.Page{}, err
	}
	defer s.leave()
	limit = max(1, min(limit, statusdigest.MaxEntries))
	if _, _, err := s.ownDigestVersion(); err != nil {
		return statusdigest.Page{}, err
	}
	var pg statusdigest.Page
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if pg.Epoch, pg.Seq, err = getOwnVersion(txn); err != nil {
			return err
		}
		return iterDigest(txn, prefixOwnDigest, after, func(c []byte, _ uint64, e statusdigest.Entry) (bool, error) {
			if len(pg.Entries) == limit {
				pg.More = true
				return false, nil
			}
			pg.Entries = append(pg.Entries, e)
			return true, nil
		})
	})
	return pg, err
}

// OwnDigestEach calls fn with each own entry in binary CID order, in one read snapshot.
func (s *Store) OwnDigestEach(ctx context.Context, fn func(statusdigest.Entry) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.db.View(func(txn *badger.Txn) error {
		return iterDigest(txn, prefixOwnDigest, nil, func(_ []byte, _ uint64, e statusdigest.Entry) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			return true, fn(e)
		})
	})
}

// iterDigest walks the entries under prefix after the binary CID after (nil: all); fn says
// whether to go on.
func iterDigest(txn *badger.Txn, prefix, after []byte, fn func(c []byte, gen uint64, e statusdigest.Entry) (bool, error)) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchSize = 256
	it := txn.NewIterator(opts)
	defer it.Close()
	start := prefix
	if after != nil {
		start = append(append(append([]byte{}, prefix...), after...), 0)
	}
	for it.Seek(start); it.Valid(); it.Next() {
		c := it.Item().Key()[len(prefix):]
		gen, e, err := itemDigestEntry(it.Item(), c)
		if err != nil {
			return err
		}
		ok, err := fn(c, gen, e)
		if err != nil || !ok {
			return err
		}
	}
	return nil
}
