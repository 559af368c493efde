package persistence

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// Op log entries (o/<origin>/<seq>) come in two forms:
//
//   - full: the op's wire form (crdt.Op.Marshal), for unpins and for pins that did not win;
//   - stub: stubMark | clock (8, BE) | cid bytes, for a pin that is its CID's record: the pin
//     JSON is the record's, so it is not stored twice. A pin's JSON is most of the bytes a pin
//     costs, and writing it once instead of twice is a third less for Badger to log, flush and
//     compact on every ingest.
//
// The invariant: a stub's op is its CID's record. Whatever replaces a live record first
// rewrites the replaced op's stub as a full entry (mergeRecord, for ops and snapshot records
// alike). Records removed without a replacement (a snapshot's prune, a removed peer's ops past
// its cutoff) leave stubs that cannot be resolved: OpsFrom answers ErrTrimmed for them, as for
// a trimmed log, and the syncer sends a snapshot instead.
//
// Store format 2 introduced stubs; format 1 stores (full entries only) are read as they are.
const stubMark = 0xff // never the first byte of an Op's wire form (field 31, wire type 7)

// logEntry is the op log value of op; won says it is now its CID's record.
func logEntry(op crdt.Op, won bool) []byte {
	if !won || op.Kind != crdt.OpPin {
		return op.Marshal()
	}
	b := op.Cid.Bytes()
	v := make([]byte, 0, 1+8+len(b))
	v = append(v, stubMark)
	v = binary.BigEndian.AppendUint64(v, uint64(op.Clock))
	return append(v, b...)
}

// unstubLogEntry turns the log entry of replaced (a live record about to be replaced) into a
// full entry if it is a stub, so the log keeps the op's content once the record is gone. An
// entry trimmed from the log (or never logged: a snapshot record) is left alone.
func unstubLogEntry(txn *badger.Txn, replaced crdt.Op) error {
	key := opKey(replaced.Origin, replaced.Seq)
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	stub := false
	if err := item.Value(func(v []byte) error { stub = len(v) > 0 && v[0] == stubMark; return nil }); err != nil {
		return err
	}
	if !stub {
		return nil
	}
	return txn.Set(key, replaced.Marshal())
}

// decodeLogEntry is the op of a log entry of origin at seq, reading a stub's JSON from its
// CID's record in txn.
func decodeLogEntry(txn *badger.Txn, origin peer.ID, seq uint64, v []byte) (crdt.Op, error) {
	if len(v) == 0 || v[0] != stubMark {
		return crdt.UnmarshalOp(v)
	}
	if len(v) < 1+8+2 {
		return crdt.Op{}, fmt.Errorf("%w: op log stub of %d bytes", crdt.ErrBadOp, len(v))
	}
	c, err := api.CastCid(v[9:])
	if err != nil {
		return crdt.Op{}, fmt.Errorf("%w: op log stub: %v", crdt.ErrBadOp, err)
	}
	op := crdt.Op{Origin: origin, Seq: seq, Clock: crdt.HLC(binary.BigEndian.Uint64(v[1:9])), Kind: crdt.OpPin, Cid: c}
	rec, found, err := getRecord(txn, c)
	if err != nil {
		return crdt.Op{}, err
	}
	if !found || rec.Deleted || rec.Op.Origin != origin || rec.Op.Seq != seq {
		return crdt.Op{}, fmt.Errorf("%w (the record of %s, op %d of %s, was removed)", ErrTrimmed, c, seq, origin)
	}
	op.PinJSON = rec.Op.PinJSON
	return op, nil
}
