package rest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pincluster/pincluster/api"
)

// fakeRegistry is an in-memory TokenRegistry (actors/tokens is tested with Badger and peers).
type fakeRegistry struct {
	mu      sync.Mutex
	recs    map[string]api.TokenRecord
	failGet error
}

func (f *fakeRegistry) Record(ctx context.Context, rec api.TokenRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs[rec.ID] = rec
	return nil
}

func (f *fakeRegistry) Revoke(ctx context.Context, id string) (api.TokenRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !api.ValidTokenID(id) {
		return api.TokenRecord{}, fmt.Errorf("%w: %q is not a token id", api.ErrInvalid, id)
	}
	rec, ok := f.recs[id]
	if !ok {
		return rec, fmt.Errorf("token %s: %w: no token with this id", id, api.ErrNotFound)
	}
	if !rec.Revoked {
		rec.Revoked, rec.RevokedAt = true, time.Now()
		f.recs[id] = rec
	}
	return rec, nil
}

func (f *fakeRegistry) Revoked(id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failGet != nil {
		return false, f.failGet
	}
	return f.recs[id].Revoked, nil
}

func (f *fakeRegistry) List(ctx context.Context, fn func(api.TokenRecord) error) error {
	f.mu.Lock()
	recs := make([]api.TokenRecord, 0, len(f.recs))
	for _, r := range f.recs {
		recs = append(recs, r)
	}
	f.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func newRegistryServer(t *testing.T) (http.Handler, *fakeRegistry) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.BasicAuthCredentials = authUsers
	cfg.BasicAuthPermissions = map[string][]string{"bob": {"read"}, "carol": {"pin"}}
	reg := &fakeRegistry{recs: map[string]api.TokenRecord{}}
	svc := newFake(t).services()
	svc.Tokens = reg
	s, err := NewServer(cfg, svc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler(), reg
}

func listTokens(t *testing.T, h http.Handler, auth string) []api.TokenRecord {
	t.Helper()
	resp := do(t, h, "GET", "/token", nil, "Authorization", auth)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /token: status %d", resp.StatusCode)
	}
	var out []api.TokenRecord
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r api.TokenRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestTokenIDsListAndRevoke: an issued token has an id, its record (never the token) is listed,
// a revoked token gets 401 "token revoked", revoking twice is fine, an unknown id is a JSON 404.
func TestTokenIDsListAndRevoke(t *testing.T) {
	h, reg := newRegistryServer(t)
	admin := issue(t, h, basic("alice", "secret"), "", nil)
	read := issue(t, h, basic("bob", "bobpw"), "expires_in=1h", nil)
	if !api.ValidTokenID(read.ID) || read.ID == admin.ID {
		t.Fatalf("token ids %q, %q", admin.ID, read.ID)
	}
	var claims tokenClaims
	if _, _, err := jwt.NewParser().ParseUnverified(read.Token, &claims); err != nil || claims.ID != read.ID {
		t.Fatalf("jti %q, want %q (%v)", claims.ID, read.ID, err)
	}
	recs := listTokens(t, h, bearer(admin.Token))
	if len(recs) != 2 {
		t.Fatalf("listed %d records, want 2", len(recs))
	}
	for _, r := range recs {
		if r.ID == read.ID && (r.User != "bob" || r.Revoked || !r.ExpiresAt.Equal(read.ExpiresAt) || len(r.Permissions) != 1 || r.Permissions[0] != "read") {
			t.Errorf("record %+v does not describe bob's read token %+v", r, read)
		}
	}
	// Listing and revoking need admin.
	wantError(t, do(t, h, "GET", "/token", nil, "Authorization", bearer(read.Token)), 403, `"admin"`)
	wantError(t, do(t, h, "DELETE", "/token/"+admin.ID, nil, "Authorization", basic("bob", "bobpw")), 403, `"admin"`)

	decode[map[string]any](t, do(t, h, "GET", "/id", nil, "Authorization", bearer(read.Token)), 200)
	got := decode[api.TokenRecord](t, do(t, h, "DELETE", "/token/"+read.ID, nil, "Authorization", bearer(admin.Token)), 200)
	if !got.Revoked || got.ID != read.ID {
		t.Fatalf("revoke answered %+v", got)
	}
	wantError(t, do(t, h, "GET", "/id", nil, "Authorization", bearer(read.Token)), 401, "token revoked")
	again := decode[api.TokenRecord](t, do(t, h, "DELETE", "/token/"+read.ID, nil, "Authorization", basic("alice", "secret")), 200)
	if !again.RevokedAt.Equal(got.RevokedAt) {
		t.Errorf("a second revocation changed the record: %+v then %+v", got, again)
	}
	wantError(t, do(t, h, "DELETE", "/token/ffeeddccbbaa99887766554433221100", nil, "Authorization", bearer(admin.Token)), 404, "no token")
	wantError(t, do(t, h, "DELETE", "/token/NOT-AN-ID", nil, "Authorization", bearer(admin.Token)), 400, "not a token id")
	if !reg.recs[read.ID].Revoked || reg.recs[admin.ID].Revoked {
		t.Fatal("the registry does not hold the revocation")
	}
	// The admin token still works; the list shows the revocation.
	for _, r := range listTokens(t, h, bearer(admin.Token)) {
		if r.Revoked != (r.ID == read.ID) {
			t.Errorf("record %+v: revoked %v", r, r.Revoked)
		}
	}
}

// TestTokenWithoutIDRefused: a token of the format before ids (no jti) is refused with a
// message saying to request a new one.
func TestTokenWithoutIDRefused(t *testing.T) {
	h, _ := newRegistryServer(t)
	now := time.Now()
	old, err := signToken("", "alice", "secret", allPerms, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, do(t, h, "GET", "/id", nil, "Authorization", bearer(old)), 401, "has no id")
	odd, _ := signToken("../x", "alice", "secret", allPerms, now, now.Add(time.Hour))
	wantError(t, do(t, h, "GET", "/id", nil, "Authorization", bearer(odd)), 401, "not one of this API's")
}

// TestTokenRevocationCheckFailsClosed: when the revocation cannot be looked up the request is
// refused with 503 (the token may be fine, so not 401).
func TestTokenRevocationCheckFailsClosed(t *testing.T) {
	h, reg := newRegistryServer(t)
	tok := issue(t, h, basic("alice", "secret"), "", nil)
	reg.failGet = errors.New("disk on fire")
	wantError(t, do(t, h, "GET", "/id", nil, "Authorization", bearer(tok.Token)), 503, "cannot check whether the bearer token was revoked")
}

// TestTokenRoutesWithoutRegistry: a server without a registry still issues tokens (with ids)
// and answers the list and revoke routes with 503.
func TestTokenRoutesWithoutRegistry(t *testing.T) {
	h := newAuthServer(t, nil)
	tok := issue(t, h, basic("alice", "secret"), "", nil)
	if !api.ValidTokenID(tok.ID) {
		t.Fatalf("id %q", tok.ID)
	}
	wantError(t, do(t, h, "GET", "/token", nil, "Authorization", bearer(tok.Token)), 503, "cannot be listed or revoked")
	wantError(t, do(t, h, "DELETE", "/token/"+tok.ID, nil, "Authorization", bearer(tok.Token)), 503, "cannot be listed or revoked")
}

// FuzzRevokePath: the id of DELETE /token/{id} is outside input: nothing panics, only a
// well-formed id reaches the registry, and every answer is JSON.
func FuzzRevokePath(f *testing.F) {
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	svc := newFake(f).services()
	reg := &fakeRegistry{recs: map[string]api.TokenRecord{}}
	svc.Tokens = reg
	s, err := NewServer(cfg, svc, testLogger(f))
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Add("00112233445566778899aabbccddeeff")
	f.Add("..%2F..%2Fm%2Fcount")
	f.Add("")
	f.Fuzz(func(t *testing.T, id string) {
		target := "/token/" + strings.NewReplacer("/", "%2F", "?", "%3F", "#", "%23", " ", "%20", "%", "%25").Replace(id)
		if strings.ContainsAny(id, "\x00\r\n\t") || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r >= 0x7f }) {
			return // not a request line httptest can build
		}
		resp := do(t, h, "DELETE", target, nil)
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 && !strings.HasPrefix(ct, "application/json") && resp.StatusCode != 404 && resp.StatusCode != 405 && resp.StatusCode != 301 && resp.StatusCode != 307 {
			t.Fatalf("%q: status %d, content type %q", id, resp.StatusCode, ct)
		}
		if resp.StatusCode == 200 && !api.ValidTokenID(id) {
			t.Fatalf("%q: revoked an id that is not a token id", id)
		}
	})
}

// TestCheckAuthRevokedToken: the other listeners that share this API's tokens (the pinning
// service API) get a 401 for a revoked token, with the same message.
func TestCheckAuthRevokedToken(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.BasicAuthCredentials = authUsers
	reg := &fakeRegistry{recs: map[string]api.TokenRecord{}}
	svc := newFake(t).services()
	svc.Tokens = reg
	s, err := NewServer(cfg, svc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	tok := issue(t, s.Handler(), basic("alice", "secret"), "", nil)
	r := httptest.NewRequest("GET", "/pins", nil)
	r.Header.Set("Authorization", bearer(tok.Token))
	if got, msg := s.CheckAuth(r, PermRead); got != 0 {
		t.Fatalf("before the revocation: %d %q", got, msg)
	}
	if _, err := reg.Revoke(context.Background(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if got, msg := s.CheckAuth(r, PermRead); got != 401 || !strings.Contains(msg, "token revoked") {
		t.Fatalf("revoked: %d %q, want 401 token revoked", got, msg)
	}
}
