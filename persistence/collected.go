package persistence

import (
	"bytes"
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// The collection watermark: the greatest clock of any tombstone this store has dropped
// (m/collected, 8 bytes). Snapshots carry it. A peer that was not counted when those
// tombstones were collected (silent beyond absent_peer_horizon) may hold ops the sender never
// saw whose clock is not after the watermark: they raced deletions that no longer leave a
// trace, so the rejoining peer must not let them win (see Unseen).

var keyCollectedClock = []byte("m/collected")

// CollectedClock is the collection watermark (0 before any collection).
func (s *Store) CollectedClock() (messages.HLC, error) {
	var v uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		v, err = getU64(txn, keyCollectedClock)
		return err
	})
	return messages.HLC(v), err
}

// raiseCollectedClock moves the watermark up to c (never down).
func (s *Store) raiseCollectedClock(c messages.HLC) error {
	if c == 0 {
		return nil
	}
	return s.update(func(txn *badger.Txn) error {
		cur, err := getU64(txn, keyCollectedClock)
		if err != nil || uint64(c) <= cur {
			return err
		}
		return txn.Set(keyCollectedClock, encU64(uint64(c)))
	})
}

// Unseen returns the live local records whose keys lie in (after, through] (bounds as in
// PruneAbsent), that are not among present, whose op the snapshot's sender had not seen
// (seq > vv[origin]) and whose clock is at or before notAfter (the sender's collection
// watermark). Such a pin raced a deletion the sender has collected: the caller supersedes it.
func (s *Store) Unseen(ctx context.Context, after, through api.Cid, present []api.Cid, vv map[peer.ID]uint64, notAfter messages.HLC) ([]Record, error) {
	if notAfter == 0 {
		return nil, nil
	}
	keep := make(map[string]bool, len(present))
	for _, c := range present {
		keep[string(pinKey(c))] = true
	}
	seek := prefixPin
	var skip, last []byte
	if after.Defined() {
		skip = pinKey(after)
		seek = skip
	}
	if through.Defined() {
		last = pinKey(through)
	}
	var out []Record
	err := s.db.View(func(txn *badger.Txn) error {
		return iterateTxn(ctx, txn, prefixPin, seek, func(key, v []byte) error {
			if last != nil && bytes.Compare(key, last) > 0 {
				return errStop
			}
			if (skip != nil && bytes.Equal(key, skip)) || keep[string(key)] || len(v) == 0 || v[0] != kindLive {
				return nil
			}
			h, err := decodeRecord(v)
			if err != nil {
				return err
			}
			if h.seq <= vv[peer.ID(h.origin)] || h.clock > notAfter {
				return nil
			}
			c, err := api.CastCid(key[len(prefixPin):])
			if err != nil {
				return fmt.Errorf("corrupt pin key: %w", err)
			}
			out = append(out, Record{Op: h.toOp(c)})
			return nil
		})
	})
	if err != nil && err != errStop {
		return nil, fmt.Errorf("persistence: records racing collected deletions: %w", err)
	}
	return out, nil
}
