package persistence

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/tokenwire"
	"github.com/pincluster/pincluster/internal/wirepb"
)

// Bearer-token records (api.TokenRecord: id and metadata, never the token string), replicated
// between peers so that every peer lists every token and refuses every revoked one:
//
//	tk/<id>                        the record (wirepb.TokenRecord, protobuf)
//	te/<expires_at 8 BE><id>       expiry index: DropExpiredTokens deletes from the front
//
// Records merge as a join semilattice (api.MergeTokenRecords), so the writers (the REST API
// issuing or revoking, the tokens actor merging gossip and pulls) need no single owner: each
// merge is a read-modify-write under tokenMu, which Badger without conflict detection needs.
// A record is kept until its token expires (the token is refused then anyway), so the set is
// bounded by the tokens alive.

var (
	prefixToken       = []byte("tk/")
	prefixTokenExpiry = []byte("te/")
)

// tokenMu serialises token record writes (rare: an issue, a revocation, a merge). It is global
// rather than per store to keep the Store struct untouched; stores in one process (tests) only
// wait for each other on these rare writes.
var tokenMu sync.Mutex

func tokenKey(id string) []byte { return append(append([]byte{}, prefixToken...), id...) }

func tokenExpiryKey(exp time.Time, id string) []byte {
	k := append([]byte{}, prefixTokenExpiry...)
	k = binary.BigEndian.AppendUint64(k, uint64(exp.UnixNano()))
	return append(k, id...)
}

// MergeTokens merges records into the store and returns the merged records that changed
// (new, or different after the merge). Records of tokens expired at now are skipped. Every
// record must pass api.TokenRecord.Validate.
func (s *Store) MergeTokens(recs []api.TokenRecord, now time.Time) ([]api.TokenRecord, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	for _, r := range recs {
		if err := r.Validate(); err != nil {
			return nil, err
		}
	}
	tokenMu.Lock()
	defer tokenMu.Unlock()
	var changed []api.TokenRecord
	err := s.update(func(txn *badger.Txn) error {
		changed = changed[:0]
		for _, r := range recs {
			if !r.ExpiresAt.After(now) {
				continue
			}
			cur, ok, err := getToken(txn, r.ID)
			if err != nil {
				return err
			}
			merged := r
			if ok {
				merged = api.MergeTokenRecords(cur, r)
				if proto.Equal(tokenwire.ToWire(merged), tokenwire.ToWire(cur)) {
					continue
				}
				if !merged.ExpiresAt.Equal(cur.ExpiresAt) {
					if err := txn.Delete(tokenExpiryKey(cur.ExpiresAt, cur.ID)); err != nil {
						return err
					}
				}
			}
			b, err := proto.MarshalOptions{Deterministic: true}.Marshal(tokenwire.ToWire(merged))
			if err != nil {
				return err
			}
			if err := txn.Set(tokenKey(r.ID), b); err != nil {
				return err
			}
			if err := txn.Set(tokenExpiryKey(merged.ExpiresAt, r.ID), nil); err != nil {
				return err
			}
			changed = append(changed, merged)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// Token returns the record of id (ok false when unknown or dropped after its expiry).
func (s *Store) Token(id string) (rec api.TokenRecord, ok bool, err error) {
	if err := s.enter(); err != nil {
		return rec, false, err
	}
	defer s.leave()
	if !api.ValidTokenID(id) {
		return rec, false, nil
	}
	err = s.db.View(func(txn *badger.Txn) error {
		rec, ok, err = getToken(txn, id)
		return err
	})
	return rec, ok, err
}

// TokenRevoked reports whether the token id was revoked: one Badger read, cheap enough for
// every request.
func (s *Store) TokenRevoked(id string) (bool, error) {
	rec, ok, err := s.Token(id)
	return ok && rec.Revoked, err
}

// IterateTokens calls fn with every token record whose id sorts after `after` ("" = all), in id
// order, within one read transaction (constant memory); it stops at fn's first error.
func (s *Store) IterateTokens(ctx context.Context, after string, fn func(api.TokenRecord) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefixToken
		it := txn.NewIterator(opts)
		defer it.Close()
		start := prefixToken
		if after != "" {
			start = append(tokenKey(after), 0)
		}
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			var rec api.TokenRecord
			err := it.Item().Value(func(b []byte) error {
				var err error
				rec, err = decodeToken(b)
				return err
			})
			if err != nil {
				return fmt.Errorf("token record %q: %w", it.Item().Key(), err)
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// dropTokensPerTxn bounds one transaction of DropExpiredTokens.
const dropTokensPerTxn = 1000

// DropExpiredTokens deletes the records of tokens expired before now (their tokens are refused
// for their expiry anyway) and returns how many went.
func (s *Store) DropExpiredTokens(now time.Time) (int, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	total := 0
	for {
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			opts := badger.DefaultIteratorOptions
			opts.Prefix, opts.PrefetchValues = prefixTokenExpiry, false
			it := txn.NewIterator(opts)
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < dropTokensPerTxn; it.Next() {
				k := it.Item().KeyCopy(nil)
				if len(k) < len(prefixTokenExpiry)+8 || int64(binary.BigEndian.Uint64(k[len(prefixTokenExpiry):])) >= now.UnixNano() {
					break
				}
				keys = append(keys, k)
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return total, err
		}
		tokenMu.Lock()
		err = s.update(func(txn *badger.Txn) error {
			for _, k := range keys {
				id := string(k[len(prefixTokenExpiry)+8:])
				if err := txn.Delete(k); err != nil {
					return err
				}
				// The record goes only if this index entry is still its expiry (a merge may
				// have extended it since the scan).
				cur, ok, err := getToken(txn, id)
				if err != nil {
					return err
				}
				if ok && cur.ExpiresAt.UnixNano() < now.UnixNano() {
					if err := txn.Delete(tokenKey(id)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		tokenMu.Unlock()
		if err != nil {
			return total, err
		}
		total += len(keys)
		if len(keys) < dropTokensPerTxn {
			return total, nil
		}
	}
}

func getToken(txn *badger.Txn, id string) (api.TokenRecord, bool, error) {
	item, err := txn.Get(tokenKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return api.TokenRecord{}, false, nil
	}
	if err != nil {
		return api.TokenRecord{}, false, err
	}
	var rec api.TokenRecord
	err = item.Value(func(b []byte) error {
		rec, err = decodeToken(b)
		return err
	})
	return rec, err == nil, err
}

func decodeToken(b []byte) (api.TokenRecord, error) {
	var w wirepb.TokenRecord
	if err := proto.Unmarshal(b, &w); err != nil {
		return api.TokenRecord{}, err
	}
	return tokenwire.FromWire(&w)
}
