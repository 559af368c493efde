package persistence

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A pack's bytes (statusdigest_packs.go has why packs): its key, its records, the cursor that
// reads a generation of them forward and the writer that cuts records into packs.

// packPrefix is the prefix of p's packs of generation gen.
func packPrefix(p peer.ID, gen uint64) []byte {
	return binary.BigEndian.AppendUint64(peerPrefix(prefixDigestPack, p), gen)
}

// appendPackRecord appends one entry to a pack: uvarint len(cid) | cid | uvarint len(v) | v,
// v as an overlay value (encodeDigestEntry).
func appendPackRecord(b, c, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(c)))
	b = append(b, c...)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// nextPackRecord reads the record at the start of b: its CID, value and the rest of b.
func nextPackRecord(b []byte) (c, v, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, nil, nil, fmt.Errorf("persistence: corrupt status digest pack")
	}
	c, b = b[k:k+int(n)], b[k+int(n):]
	n, k = binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, nil, nil, fmt.Errorf("persistence: corrupt status digest pack")
	}
	return c, b[k : k+int(n)], b[k+int(n):], nil
}

// packCursor walks one generation of p's packs forward, a record at a time. Its CID and value
// are valid until it moves.
type packCursor struct {
	it     *badger.Iterator
	prefix []byte
	buf    []byte // the current pack's value (copied: Badger's is valid during Value only)
	rest   []byte // its records after the current one
	c, v   []byte // the current record (c nil: past the end)
	key    []byte // reused seek key
}

func newPackCursor(txn *badger.Txn, prefix []byte) *packCursor {
	opts := badger.DefaultIteratorOptions
	opts.Prefix, opts.PrefetchValues = prefix, false
	return &packCursor{it: txn.NewIterator(opts), prefix: prefix}
}

// seek moves to the first record at or after the binary CID c: the first pack whose last
// CID is at or after c (packs are keyed by their last CID), then within it.
func (pc *packCursor) seek(c []byte) error {
	pc.key = append(append(pc.key[:0], pc.prefix...), c...)
	pc.it.Seek(pc.key)
	if err := pc.load(); err != nil {
		return err
	}
	return pc.skipTo(c)
}

// rewind moves to the first record.
func (pc *packCursor) rewind() error {
	pc.it.Rewind()
	return pc.load()
}

// load makes the iterator's pack current, at its first record (c nil: no pack left).
func (pc *packCursor) load() error {
	pc.c, pc.v, pc.rest = nil, nil, nil
	if !pc.it.Valid() {
		return nil
	}
	var err error
	if pc.buf, err = pc.it.Item().ValueCopy(pc.buf[:0]); err != nil {
		return err
	}
	if len(pc.buf) == 0 {
		return fmt.Errorf("persistence: empty status digest pack")
	}
	pc.c, pc.v, pc.rest, err = nextPackRecord(pc.buf)
	return err
}

// next moves to the following record, across packs.
func (pc *packCursor) next() error {
	if len(pc.rest) == 0 {
		pc.it.Next()
		return pc.load()
	}
	var err error
	pc.c, pc.v, pc.rest, err = nextPackRecord(pc.rest)
	return err
}

// stepTo moves to the record after the current one when it is c, in the same pack, and
// reports whether it did (the record read once, not again by next).
func (pc *packCursor) stepTo(c []byte) bool {
	if len(pc.rest) == 0 {
		return false
	}
	nc, nv, rest, err := nextPackRecord(pc.rest)
	if err != nil || !bytes.Equal(nc, c) {
		return false // a corrupt record is reported by the general path
	}
	pc.c, pc.v, pc.rest = nc, nv, rest
	return true
}

// skipTo moves forward to the first record at or after c. A pack whose last CID (its key)
// is before c is passed over without decoding it; far ahead, a seek.
func (pc *packCursor) skipTo(c []byte) error {
	for pc.c != nil && bytes.Compare(pc.c, c) < 0 {
		if bytes.Compare(pc.it.Item().Key()[len(pc.prefix):], c) >= 0 {
			if err := pc.next(); err != nil { // c is in this pack
				return err
			}
			continue
		}
		pc.it.Next()
		pc.key = append(append(pc.key[:0], pc.prefix...), c...)
		seekForward(pc.it, pc.key, false)
		if err := pc.load(); err != nil {
			return err
		}
	}
	return nil
}

func (pc *packCursor) close() { pc.it.Close() }

// packWriter cuts a stream of records in CID order into packs of one generation.
type packWriter struct {
	prefix   []byte
	buf      []byte
	n        int
	last     []byte
	out      []kv // packs cut and not yet written
	outBytes int  // their values' bytes
	count    uint64
}

type kv struct{ key, val []byte }

func (w *packWriter) add(c, v []byte) {
	// A record that would take the pack past packMaxBytes (a long CID: nothing bounds one)
	// starts the next, so that every pack stays a value in the tree.
	if w.n > 0 && len(w.buf)+packRecordSize(c, v) > packMaxBytes {
		w.cut()
	}
	w.buf = appendPackRecord(w.buf, c, v)
	w.last = append(w.last[:0], c...)
	w.n++
	w.count++
	if w.n == packEntries || len(w.buf) >= packBytes {
		w.cut()
	}
}

func (w *packWriter) cut() {
	if w.n == 0 {
		return
	}
	w.out = append(w.out, kv{append(append([]byte{}, w.prefix...), w.last...), w.buf})
	w.outBytes += len(w.buf)
	w.buf, w.n = nil, 0
}

// take returns the packs cut and not yet written, and forgets them.
func (w *packWriter) take() []kv {
	out := w.out
	w.out, w.outBytes = nil, 0
	return out
}

// packRecordSize is the size of c and v's record (appendPackRecord).
func packRecordSize(c, v []byte) int {
	var tmp [binary.MaxVarintLen64]byte
	return binary.PutUvarint(tmp[:], uint64(len(c))) + len(c) + binary.PutUvarint(tmp[:], uint64(len(v))) + len(v)
}
