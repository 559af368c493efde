package persistence

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/pincluster/pincluster/api"
)

// Requests of the IPFS Pinning Service API (api/pinsvc) live in their CID's pin metadata, one
// entry per request: key "pinsvc/<request id: 32 hex digits>", value a JSON object with at
// least "created" (RFC 3339, UTC). Two more indexes, kept with xn/ and xm/ in the record's
// transaction (indexKeys) and rebuilt with them, find them:
//
//	xr/ created(8 bytes BE unix nanos) id(16 bytes) cid -> empty   (requests, oldest first)
//	xq/ id(16 bytes) cid                               -> empty   (a request by its id)
//
// The CID is in the key rather than the value so that the keys of two pins never collide (a
// request id copied by hand into a second pin's metadata gives two keys, not one overwritten)
// and updateIndexes handles them like the other index keys. Metadata keys under the prefix
// that are not a well-formed request (an id that is not 32 hex digits, a value without a
// positive "created") are not indexed; the pinning service ignores them too.
var (
	prefixReqIdx = []byte("xr/")
	prefixReqID  = []byte("xq/")
)

// RequestMetaPrefix is the metadata key prefix of pinning service requests.
const RequestMetaPrefix = api.RequestMetaPrefix

// requestIDLen is the length of a request id in bytes (32 hex digits).
const requestIDLen = 16

// requestCreated is the part of a request entry the index reads.
type requestCreated struct {
	Created time.Time `json:"created"`
}

// ParseRequestEntry reads a metadata pair as a pinning service request: its id (raw bytes) and
// created time; ok is false when the pair is not a well-formed request.
func ParseRequestEntry(key, value string) (id []byte, created time.Time, ok bool) {
	hexID, isReq := strings.CutPrefix(key, RequestMetaPrefix)
	if !isReq || len(hexID) != 2*requestIDLen || strings.ToLower(hexID) != hexID {
		return nil, time.Time{}, false
	}
	id, err := hex.DecodeString(hexID)
	if err != nil {
		return nil, time.Time{}, false
	}
	var rc requestCreated
	if err := json.Unmarshal([]byte(value), &rc); err != nil || rc.Created.UnixNano() <= 0 || rc.Created.Year() > 2261 {
		return nil, time.Time{}, false
	}
	return id, rc.Created, true
}

func reqIdxKey(created time.Time, id, cid []byte) []byte {
	k := make([]byte, 0, len(prefixReqIdx)+8+len(id)+len(cid))
	k = append(k, prefixReqIdx...)
	k = binary.BigEndian.AppendUint64(k, uint64(created.UnixNano()))
	k = append(k, id...)
	return append(k, cid...)
}

func reqIDKey(id, cid []byte) []byte {
	k := make([]byte, 0, len(prefixReqID)+len(id)+len(cid))
	k = append(k, prefixReqID...)
	k = append(k, id...)
	return append(k, cid...)
}

// requestIndexKeys are the xr/ and xq/ keys of a live pin's metadata.
func requestIndexKeys(cid []byte, meta map[string]string) [][]byte {
	var keys [][]byte
	for k, v := range meta {
		id, created, ok := ParseRequestEntry(k, v)
		if !ok {
			continue
		}
		keys = append(keys, reqIdxKey(created, id, cid), reqIDKey(id, cid))
	}
	return keys
}

// RequestRef is a request found in the index (api.PinRequestRef: the pinning service API
// reads the store through it with no adapter). PinJSON is a copy, the caller's to keep.
type RequestRef = api.PinRequestRef

// requestPage is how many requests one read transaction collects while walking the index:
// fn runs outside the transaction (it may ask the cluster for statuses).
const requestPage = 256

// Requests calls fn with the indexed requests created strictly before `before` (every request
// when before is zero), newest first, until fn returns an error (returned) or the index ends.
// The walk reads pages of requests in short transactions and calls fn outside them; a request
// whose pin changed between the index read and the record read is skipped when the record no
// longer holds it.
func (s *Store) Requests(ctx context.Context, before time.Time, fn func(RequestRef) error) error {
	if !s.indexed.Load() {
		return ErrNotIndexed
	}
	seek := append([]byte(nil), prefixReqIdx...)
	if before.IsZero() {
		seek = append(seek, bytes.Repeat([]byte{0xff}, 8)...)
	} else {
		if before.UnixNano() <= 0 {
			return nil
		}
		seek = binary.BigEndian.AppendUint64(seek, uint64(before.UnixNano()))
	}
	for {
		page, next, err := s.requestPage(ctx, seek)
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		seek = next
	}
}

// requestPage reads up to requestPage requests at keys strictly below seek, newest first, and
// returns the seek key of the next page (nil at the end). It holds the store's gate per page,
// not Requests: fn runs between pages, outside the gate as outside the transaction, so a
// slow fn does not hold up Close.
func (s *Store) requestPage(ctx context.Context, seek []byte) (page []RequestRef, next []byte, err error) {
	if err := s.enter(); err != nil {
		return nil, nil, err
	}
	defer s.leave()
	err = s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Reverse = true
		opts.Prefix = prefixReqIdx
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(seek); it.ValidForPrefix(prefixReqIdx); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			key := it.Item().Key()
			if bytes.Compare(key, seek) >= 0 { // the seek key itself, when a request has it
				continue
			}
			if len(page) == requestPage {
				next = append([]byte(nil), key...)
				next = append(next, 0) // keys below key+0x00: key itself and the older ones
				return nil
			}
			rest := key[len(prefixReqIdx):]
			if len(rest) <= 8+requestIDLen {
				continue
			}
			created := time.Unix(0, int64(binary.BigEndian.Uint64(rest[:8]))).UTC()
			id := rest[8 : 8+requestIDLen]
			cidBytes := rest[8+requestIDLen:]
			r, ok, err := readRequest(txn, id, cidBytes)
			if err != nil {
				return err
			}
			if ok {
				r.Created = created
				page = append(page, r)
			}
		}
		return nil
	})
	return page, next, err
}

// readRequest reads the live pin of cid and checks that its metadata still holds request id.
func readRequest(txn *badger.Txn, id, cidBytes []byte) (RequestRef, bool, error) {
	item, err := txn.Get(pinKeyOf(cidBytes))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return RequestRef{}, false, nil
	}
	if err != nil {
		return RequestRef{}, false, err
	}
	var js []byte
	if err := item.Value(func(v []byte) error {
		if j := pinJSONOf(v); j != nil {
			js = append([]byte(nil), j...)
		}
		return nil
	}); err != nil || js == nil {
		return RequestRef{}, false, err
	}
	hexID := hex.EncodeToString(id)
	f, err := api.PinFieldsOf(js)
	if err != nil {
		return RequestRef{}, false, nil
	}
	if _, ok := f.Metadata[RequestMetaPrefix+hexID]; !ok {
		return RequestRef{}, false, nil
	}
	c, err := api.CastCid(cidBytes)
	if err != nil {
		return RequestRef{}, false, nil
	}
	return RequestRef{ID: hexID, Cid: c, PinJSON: js}, true, nil
}

// Request finds a request by its id (32 hex digits): the live pins whose metadata hold it,
// usually one. ok is false when no pin holds it (or the id is malformed).
func (s *Store) Request(ctx context.Context, hexID string) (refs []RequestRef, err error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if !s.indexed.Load() {
		return nil, ErrNotIndexed
	}
	id, err := hex.DecodeString(hexID)
	if err != nil || len(id) != requestIDLen || strings.ToLower(hexID) != hexID {
		return nil, nil
	}
	prefix := append(append([]byte(nil), prefixReqID...), id...)
	err = s.db.View(func(txn *badger.Txn) error {
		return iterateTxn(ctx, txn, prefix, prefix, func(key, _ []byte) error {
			r, ok, err := readRequest(txn, id, key[len(prefix):])
			if err != nil || !ok {
				return err
			}
			f, _ := api.PinFieldsOf(r.PinJSON)
			if _, created, ok := ParseRequestEntry(RequestMetaPrefix+hexID, f.Metadata[RequestMetaPrefix+hexID]); ok {
				r.Created = created.UTC()
			}
			refs = append(refs, r)
			return nil
		})
	})
	return refs, err
}
