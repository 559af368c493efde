package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pincluster/pincluster/api"
)

// TokenRegistry keeps the records of issued tokens for the whole cluster (actors/tokens): a
// token issued on any peer is listed, and once revoked refused, by every peer. Records hold a
// token's id and metadata, never the token. Every method is safe for concurrent use.
type TokenRegistry interface {
	// Record stores the record of a token this peer issued (durable on return) and spreads it.
	Record(ctx context.Context, rec api.TokenRecord) error
	// Revoke revokes a token: api.ErrNotFound for an unknown id, api.ErrInvalid for a
	// malformed one; revoking twice returns the record unchanged.
	Revoke(ctx context.Context, id string) (api.TokenRecord, error)
	// Revoked reports whether id was revoked. It runs on every request with a bearer token, so
	// it must be cheap (one Badger read).
	Revoked(id string) (bool, error)
	// List streams every record, in id order, in constant memory.
	List(ctx context.Context, fn func(api.TokenRecord) error) error
}

// errRevocationCheck: the revocation of a token could not be looked up; the request is refused
// (fail closed) with 503, since the token itself may be fine.
var errRevocationCheck = errors.New("cannot check whether the bearer token was revoked")

// tokenErrorStatus is the status of a verifyToken error: 401, or 503 when the revocation
// lookup failed.
func tokenErrorStatus(err error) int {
	if errors.Is(err, errRevocationCheck) {
		return http.StatusServiceUnavailable
	}
	return http.StatusUnauthorized
}

// checkRevocation refuses a token without an id and a revoked one (a 401 message).
func (s *Server) checkRevocation(id string) error {
	if id == "" {
		return fmt.Errorf("bearer token has no id (jti): it was issued by a pincluster that could not revoke tokens, and is no longer accepted: %s", renew)
	}
	if !api.ValidTokenID(id) {
		return fmt.Errorf("bearer token id %q is not one of this API's: %s", id, renew)
	}
	if s.svc.Tokens == nil {
		return nil
	}
	revoked, err := s.svc.Tokens.Revoked(id)
	if err != nil {
		return fmt.Errorf("%w (%v): try again", errRevocationCheck, err)
	}
	if revoked {
		return fmt.Errorf("token revoked: bearer token %s was revoked by an admin (pincluster token revoke): %s", id, renew)
	}
	return nil
}

// recordToken records a token just issued (no-op without a registry).
func (s *Server) recordToken(ctx context.Context, id, user string, perms permSet, issued, expires time.Time) error {
	if s.svc.Tokens == nil {
		return nil
	}
	rec := api.TokenRecord{ID: id, User: user, Permissions: perms.names(),
		IssuedAt: issued.UTC().Truncate(time.Second), ExpiresAt: expires.UTC().Truncate(time.Second)}
	return s.svc.Tokens.Record(ctx, rec)
}

// errNoRegistry answers the token routes of a server built without a registry.
var errNoRegistry = fmt.Errorf("%w: this server keeps no token records, so tokens cannot be listed or revoked", api.ErrUnavailable)

// listTokens is GET /token: every token any peer issued and that has not expired, one JSON
// object per line (api.TokenRecord), with whether it was revoked. Never the tokens.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	if s.svc.Tokens == nil {
		writeError(w, errNoRegistry)
		return
	}
	now := time.Now()
	st := newStreamer(w)
	st.finish(s.svc.Tokens.List(r.Context(), func(rec api.TokenRecord) error {
		if !rec.ExpiresAt.After(now) {
			return nil // refused anyway; its record goes at the next expiry sweep
		}
		return st.item(rec)
	}))
}

// revokeToken is DELETE /token/{id}: from then on every peer refuses the token (within the
// gossip delay; peers that were away pull the revocation when they reconnect). It answers the
// token's record; revoking twice is no error.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if s.svc.Tokens == nil {
		writeError(w, errNoRegistry)
		return
	}
	rec, err := s.svc.Tokens.Revoke(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rec)
}
