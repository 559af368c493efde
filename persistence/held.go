package persistence

import (
	"context"

	"github.com/dgraph-io/badger/v4"
	"github.com/libp2p/go-libp2p/core/peer"
)

// SeqRange is the seqs From..To (inclusive) of one origin's op log.
type SeqRange struct{ From, To uint64 }

// HeldAbove returns, in seq order, up to limit ranges of origin's ops stored above seq after
// (the ops that arrived after a gap, which the version vector does not count yet). It reads
// each entry's key and the head of its value (a run's length, oplog.go). When there are more
// ranges, the later ones are left out: a caller telling a peer
// what it holds (anti-entropy) loses nothing but a resend by that.
func (s *Store) HeldAbove(ctx context.Context, origin peer.ID, after uint64, limit int) ([]SeqRange, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []SeqRange
	if limit <= 0 {
		return nil, nil
	}
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := opPrefix(origin)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		n := 0
		for it.Seek(opKey(origin, after+1)); it.Valid(); it.Next() {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			first, last, err := itemSeqs(it.Item(), prefix)
			if err != nil {
				return err
			}
			first = max(first, after+1)
			if k := len(out); k > 0 && out[k-1].To+1 >= first {
				out[k-1].To = max(out[k-1].To, last)
				continue
			}
			if len(out) == limit {
				return nil
			}
			out = append(out, SeqRange{From: first, To: last})
		}
		return ctx.Err()
	})
	return out, err
}
