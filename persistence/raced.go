package persistence

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// Raced pins. A pin of an excluded member (ExcludeMember) not after its watermark that lands
// on a CID without a record may have raced a deletion whose tombstone is gone. The write that
// applies it marks it, in the same transaction (xc/<CID>: uvarint seq | origin), and tells the
// raced-pin handler after the commit; the marks are what a handler call lost to a crash leaves
// behind for the collector's next round (RacedPins).
//
// Decision: the round reads the marks, not every record of the excluded member. The member's
// pins applied before it fell silent raced nothing, and a scan of its records "not after the
// watermark" unpinned every one of them cluster-wide once it had been away for
// absent_peer_horizon. A mark lives until its record is no longer that op (superseded, or
// replaced by a newer op): the round that finds it so drops it.
var prefixRaced = []byte("xc/")

// racedPage is how many marks one RacedPins step reads, under the write lock.
const racedPage = 1024

func racedKey(cid []byte) []byte {
	k := make([]byte, 0, len(prefixRaced)+len(cid))
	return append(append(k, prefixRaced...), cid...)
}

// markRaced records in txn that op raced a collection.
func markRaced(txn *badger.Txn, op crdt.Op) error {
	v := binary.AppendUvarint(nil, op.Seq)
	return txn.Set(racedKey(op.Cid.Bytes()), append(v, op.Origin...))
}

// RacedPins calls fn with the pins that raced a collection and are still their CID's record,
// up to racedPage at a time (fn runs without the store's locks: it may commit). Marks whose
// record has moved on are dropped. It reads nothing but the marks and their records.
func (s *Store) RacedPins(ctx context.Context, fn func([]crdt.Op)) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	seek := prefixRaced
	for {
		ops, next, err := s.racedPage(ctx, seek)
		if err != nil {
			return fmt.Errorf("persistence: raced pins: %w", err)
		}
		if len(ops) > 0 {
			fn(ops)
		}
		if next == nil {
			return nil
		}
		seek = next
	}
}

var errPageFull = errors.New("page full")

// racedPage reads up to racedPage marks from seek, returns the live ones and the key to go on
// from (nil at the end), and drops the stale ones. The write lock keeps a mark written
// meanwhile from being dropped for its record read before it.
func (s *Store) racedPage(ctx context.Context, seek []byte) (ops []crdt.Op, next []byte, err error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err = s.update(func(txn *badger.Txn) error {
		ops, next = nil, nil
		var stale [][]byte
		err := iterateTxn(ctx, txn, prefixRaced, seek, func(key, v []byte) error {
			if len(ops)+len(stale) == racedPage {
				next = bytes.Clone(key)
				return errPageFull
			}
			op, live, err := racedRecord(txn, key[len(prefixRaced):], v)
			if err != nil {
				return err
			}
			if live {
				ops = append(ops, op)
			} else {
				stale = append(stale, bytes.Clone(key))
			}
			return nil
		})
		if err != nil && !errors.Is(err, errPageFull) {
			return err
		}
		for _, k := range stale {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return ops, next, err
}

// racedRecord reads the record a mark (value v) of cid names: live when it is still that op.
// A mark that does not decode is stale.
func racedRecord(txn *badger.Txn, cid, v []byte) (crdt.Op, bool, error) {
	seq, n := binary.Uvarint(v)
	c, err := api.CastCid(cid)
	if n <= 0 || len(v) == n || err != nil {
		return crdt.Op{}, false, nil
	}
	origin := peer.ID(v[n:])
	item, err := txn.Get(pinKeyOf(cid))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return crdt.Op{}, false, nil
	}
	if err != nil {
		return crdt.Op{}, false, err
	}
	var op crdt.Op
	live := false
	err = item.Value(func(rv []byte) error {
		h, err := decodeRecord(rv)
		if err != nil {
			return err
		}
		if live = h.kind == kindLive && h.seq == seq && string(h.origin) == string(origin); live {
			op = h.toOp(c)
		}
		return nil
	})
	return op, live, err
}
