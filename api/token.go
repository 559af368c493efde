package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TokenRecord is what the cluster knows of one bearer token: its id and metadata, never the
// token itself (whoever reads the records must not be able to use the tokens). Every peer
// keeps the records of the tokens any peer issued, until they expire, so `token ls` on one
// peer lists them all and a revocation made on one peer is refused by all.
//
// Records form a join semilattice, so replicas converge whatever the order and duplication of
// what they receive (gossip, pulls): MergeTokenRecords keeps the issue metadata that is set
// and makes revocation sticky (a revoked token never becomes valid again), the earliest
// revocation winning.
type TokenRecord struct {
	ID          string    `json:"id"`
	User        string    `json:"user"`
	Permissions []string  `json:"permissions"`
	IssuedAt    time.Time `json:"issued_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	IssuedBy    peer.ID   `json:"issued_by,omitempty"`
	Revoked     bool      `json:"revoked"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
	RevokedBy   peer.ID   `json:"revoked_by,omitempty"`
}

// TokenIDLen is the length of a token id: 16 random bytes in lowercase hex.
const TokenIDLen = 32

// NewTokenID returns a fresh random token id.
func NewTokenID() string {
	var b [TokenIDLen / 2]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// ValidTokenID reports whether id has the form of a token id (NewTokenID). Ids from outside
// (a path, a gossip message) are checked before they become store keys.
func ValidTokenID(id string) bool {
	if len(id) != TokenIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Validate checks a record from outside: a well-formed id, an expiry, and a revocation with its
// time. Issue metadata may be absent (a revocation that travels ahead of the issue record).
func (r TokenRecord) Validate() error {
	if !ValidTokenID(r.ID) {
		return fmt.Errorf("%w: token id %q is not %d lowercase hex characters", ErrInvalid, r.ID, TokenIDLen)
	}
	if r.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: token %s has no expiry", ErrInvalid, r.ID)
	}
	if r.Revoked && r.RevokedAt.IsZero() {
		return fmt.Errorf("%w: token %s is revoked without a revocation time", ErrInvalid, r.ID)
	}
	if len(r.User) > 256 || len(r.Permissions) > 8 {
		return fmt.Errorf("%w: token %s has an oversized user or permission list", ErrInvalid, r.ID)
	}
	return nil
}

// MergeTokenRecords merges two records of the same id: the result is the same whatever the
// order (commutative, associative, idempotent). Issue fields come from whichever record has
// them (the earliest issue time when both do, which only differ if a forger reused an id);
// revocation is sticky and the earliest revocation wins.
func MergeTokenRecords(a, b TokenRecord) TokenRecord {
	out := a
	if a.IssuedAt.IsZero() || (!b.IssuedAt.IsZero() && tokenIssueLess(b, a)) {
		out.User, out.Permissions, out.IssuedAt, out.IssuedBy = b.User, b.Permissions, b.IssuedAt, b.IssuedBy
	}
	if b.ExpiresAt.After(out.ExpiresAt) {
		// A longer expiry only keeps the record (and so its revocation) longer.
		out.ExpiresAt = b.ExpiresAt
	}
	switch {
	case !b.Revoked:
	case !out.Revoked || b.RevokedAt.Before(out.RevokedAt) || (b.RevokedAt.Equal(out.RevokedAt) && b.RevokedBy < out.RevokedBy):
		out.Revoked, out.RevokedAt, out.RevokedBy = true, b.RevokedAt, b.RevokedBy
	}
	return out
}

// tokenIssueLess orders issue metadata deterministically (time, then issuing peer).
func tokenIssueLess(a, b TokenRecord) bool {
	if !a.IssuedAt.Equal(b.IssuedAt) {
		return a.IssuedAt.Before(b.IssuedAt)
	}
	return a.IssuedBy < b.IssuedBy
}
