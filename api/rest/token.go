package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pincluster/pincluster/api"
)

// Bearer tokens are HS256 JWTs, as in IPFS Cluster: the issuer (iss) is the basic auth user and
// the key is that user's current password, so changing a password revokes the user's tokens.
// pincluster adds an expiry (exp, required), an audience (aud), the token's permissions and an
// id (jti, required): the cluster records every issued token by its id (never the token
// itself), so tokens can be listed (GET /token) and revoked one by one (DELETE /token/{id});
// see token_registry.go. Tokens without an id (pincluster before revocation existed) are
// refused with a message to request a new one: a token nobody can list or revoke is the hole
// revocation closes, and tokens live at most token_max_ttl anyway.

// tokenAudience binds tokens to this API: other JWTs signed with the same password do not pass.
const tokenAudience = "pincluster-restapi"

// tokenClaims are the claims of a pincluster token.
type tokenClaims struct {
	Permissions []string `json:"permissions"`
	jwt.RegisteredClaims
}

// signToken makes the token id for user, signed with password, valid from issued to expires.
func signToken(id, user, password string, perms permSet, issued, expires time.Time) (string, error) {
	if password == "" {
		return "", fmt.Errorf("user %q has an empty password, which cannot sign tokens: set one in %s.basic_auth_credentials", user, configKey)
	}
	claims := tokenClaims{
		Permissions: perms.names(),
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        id,
			Issuer:    user,
			Audience:  jwt.ClaimStrings{tokenAudience},
			IssuedAt:  jwt.NewNumericDate(issued),
			ExpiresAt: jwt.NewNumericDate(expires),
		},
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(password))
}

// errUnknownIssuer is returned by the key lookup for a user that is not configured.
var errUnknownIssuer = errors.New("unknown issuer")

// renew is the advice every token error ends with.
const renew = "request a new one with POST /token"

// verifyToken checks a bearer token's signature (with its issuer's current password),
// expiry, audience and permissions at now. The principal's permissions are the token's, cut
// down to what its user has now. Errors are messages for a 401.
func (s *Server) verifyToken(raw string, now time.Time) (principal, error) {
	if raw == "" {
		return principal{}, fmt.Errorf("empty bearer token: send \"Authorization: Bearer <token>\" with a token from POST /token")
	}
	var claims tokenClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(tokenAudience),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	_, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		pw, ok := s.cfg.BasicAuthCredentials[claims.Issuer]
		if !ok || claims.Issuer == "" {
			return nil, errUnknownIssuer
		}
		if pw == "" {
			return nil, errUnknownIssuer
		}
		return []byte(pw), nil
	})
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenMalformed):
		return principal{}, fmt.Errorf("malformed bearer token (expected a JWT from POST /token): %s", renew)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) || errors.Is(err, errUnknownIssuer):
		// An unknown issuer reads like a bad signature, so tokens do not reveal which users exist.
		return principal{}, fmt.Errorf("bearer token signature is invalid (the token was altered, or its user's password changed): %s", renew)
	case errors.Is(err, jwt.ErrTokenExpired) && claims.ExpiresAt != nil:
		return principal{}, fmt.Errorf("token expired at %s: %s", claims.ExpiresAt.UTC().Format(time.RFC3339), renew)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && claims.ExpiresAt == nil:
		return principal{}, fmt.Errorf("bearer token has no expiry (exp), so it is not one of this API's tokens: %s", renew)
	case errors.Is(err, jwt.ErrTokenInvalidAudience) || errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return principal{}, fmt.Errorf("bearer token is not for this API (aud must be %q): %s", tokenAudience, renew)
	default:
		return principal{}, fmt.Errorf("invalid bearer token (%v): %s", err, renew)
	}
	perms, err := parsePerms(claims.Permissions)
	if err != nil || perms == 0 {
		return principal{}, fmt.Errorf("bearer token carries no valid permissions: %s", renew)
	}
	if err := s.checkRevocation(claims.ID); err != nil {
		return principal{}, err
	}
	p := principal{user: claims.Issuer, perms: perms & s.userPerms(claims.Issuer), token: true, expires: claims.ExpiresAt.Time, tokenID: claims.ID}
	return p, nil
}

// tokenRequest is the optional body of POST /token; the same fields may come as query
// parameters (permissions as a comma list).
type tokenRequest struct {
	ExpiresIn   string   `json:"expires_in,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// TokenResponse is the answer of POST /token. IPFS Cluster clients read only "token".
type TokenResponse struct {
	Token       string    `json:"token"`
	ID          string    `json:"id"`
	ExpiresAt   time.Time `json:"expires_at"`
	Permissions []string  `json:"permissions"`
}

// issueToken is POST /token: a token for the caller, valid expires_in (default token_ttl, at
// most token_max_ttl) with the asked permissions (default all of the caller's). A caller holding
// an admin token gets a token that expires no later than its own.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) {
	if !s.authEnabled() {
		writeErrorStatus(w, http.StatusBadRequest, fmt.Sprintf("authentication is off, so there are no tokens: set %s.basic_auth_credentials to enable them", configKey))
		return
	}
	p, _ := principalFrom(r.Context())
	req, err := readTokenRequest(r)
	if err != nil {
		writeErrorStatus(w, bodyReadStatus(err), err.Error())
		return
	}
	ttl := s.cfg.TokenTTL
	if req.ExpiresIn != "" {
		ttl, err = time.ParseDuration(req.ExpiresIn)
		if err != nil || ttl <= 0 {
			writeErrorStatus(w, http.StatusBadRequest, fmt.Sprintf("expires_in %q must be a positive duration (e.g. 1h, 30m; default %s)", req.ExpiresIn, s.cfg.TokenTTL))
			return
		}
		if ttl > s.cfg.TokenMaxTTL {
			writeErrorStatus(w, http.StatusBadRequest, fmt.Sprintf("expires_in %s is over the limit of %s (%s.token_max_ttl): ask for less", ttl, s.cfg.TokenMaxTTL, configKey))
			return
		}
	}
	perms := p.perms
	if len(req.Permissions) > 0 {
		if perms, err = parsePerms(req.Permissions); err != nil {
			writeErrorStatus(w, http.StatusBadRequest, "permissions: "+err.Error())
			return
		}
		if extra := perms &^ p.perms; extra != 0 {
			writeErrorStatus(w, http.StatusForbidden, fmt.Sprintf("user %q cannot give a token the %s permission: a token gets at most what its issuer has (%s)", p.user, quoted(extra), p.perms))
			return
		}
	}
	if perms == 0 {
		writeErrorStatus(w, http.StatusForbidden, fmt.Sprintf("user %q has no permissions to put in a token (see %s.basic_auth_permissions)", p.user, configKey))
		return
	}
	now := time.Now()
	exp := now.Add(ttl)
	if p.token && exp.After(p.expires) {
		exp = p.expires
	}
	id := api.NewTokenID()
	tok, err := signToken(id, p.user, s.cfg.BasicAuthCredentials[p.user], perms, now, exp)
	if err != nil {
		writeErrorStatus(w, http.StatusBadRequest, err.Error())
		return
	}
	// The record is durable before the token is handed out: a token that cannot be listed
	// cannot be revoked either.
	if err := s.recordToken(r.Context(), id, p.user, perms, now, exp); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenResponse{Token: tok, ID: id, ExpiresAt: exp.UTC().Truncate(time.Second), Permissions: perms.names()})
}

// quoted names the permissions of s that matter for a message: "admin" when the admin bit is
// set, else the others.
func quoted(s permSet) string {
	if s&bitAdmin != 0 {
		return `"admin"`
	}
	n := s.names()
	for i := range n {
		n[i] = `"` + n[i] + `"`
	}
	return strings.Join(n, ", ")
}

// readTokenRequest reads the query parameters and then the optional JSON body over them.
func readTokenRequest(r *http.Request) (tokenRequest, error) {
	q := r.URL.Query()
	req := tokenRequest{ExpiresIn: q.Get("expires_in")}
	for _, v := range q["permissions"] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				req.Permissions = append(req.Permissions, p)
			}
		}
	}
	if r.Body == nil {
		return req, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return req, fmt.Errorf("reading the body: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return req, nil
	}
	body, err := decodeTokenRequest(b)
	if err != nil {
		return req, err
	}
	if body.ExpiresIn != "" {
		req.ExpiresIn = body.ExpiresIn
	}
	if len(body.Permissions) > 0 {
		req.Permissions = body.Permissions
	}
	return req, nil
}

// decodeTokenRequest decodes a non-empty POST /token body strictly: one JSON object with only
// the known fields, and nothing after it. A body with trailing bytes is refused rather than
// half-read: `{"expires_in":"1h"}{"permissions":["admin"]}` must not mean either.
func decodeTokenRequest(b []byte) (tokenRequest, error) {
	const example = `send e.g. {"expires_in": "1h", "permissions": ["read"]}`
	var body tokenRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return body, fmt.Errorf("body is not a token request (%v): %s", err, example)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return body, fmt.Errorf("body has data after the JSON object (from byte %d): %s", end, example)
	}
	return body, nil
}
