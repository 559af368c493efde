package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest"
)

// memTokens is an in-memory rest.TokenRegistry (the real one, actors/tokens, is tested with
// Badger and peers).
type memTokens struct {
	mu   sync.Mutex
	recs map[string]api.TokenRecord
	ids  []string
}

func (m *memTokens) Record(_ context.Context, r api.TokenRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recs[r.ID] = r
	m.ids = append(m.ids, r.ID)
	return nil
}

func (m *memTokens) Revoke(_ context.Context, id string) (api.TokenRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.recs[id]
	if !ok {
		return r, fmt.Errorf("token %s: %w: no token with this id", id, api.ErrNotFound)
	}
	if !r.Revoked {
		r.Revoked, r.RevokedAt = true, time.Now()
		m.recs[id] = r
	}
	return r, nil
}

func (m *memTokens) Revoked(id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recs[id].Revoked, nil
}

func (m *memTokens) List(_ context.Context, fn func(api.TokenRecord) error) error {
	m.mu.Lock()
	var recs []api.TokenRecord
	for _, id := range m.ids {
		recs = append(recs, m.recs[id])
	}
	m.mu.Unlock()
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func startTokenAPI(t *testing.T) string {
	t.Helper()
	cfg := rest.DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.BasicAuthCredentials = map[string]string{"alice": "secret", "bob": "bobpw"}
	cfg.BasicAuthPermissions = map[string][]string{"bob": {"read"}}
	s, err := rest.NewServer(cfg, rest.Services{Pins: struct{ rest.Pins }{}, Status: struct{ rest.PinStatus }{}, Peers: versionCluster{},
		Health: struct{ rest.Health }{}, Add: struct{ rest.Adder }{}, Tokens: &memTokens{recs: map[string]api.TokenRecord{}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s.Addr().String()
}

// TestTokenLsAndRevoke: token ls lists ids (text and JSON), token revoke ID revokes, the revoked
// token then fails with exit 2 and "token revoked"; errors are one line with the usual codes.
func TestTokenLsAndRevoke(t *testing.T) {
	isolate(t)
	h := "--host=" + startTokenAPI(t)
	admin := []string{h, "--basic-auth", "alice:secret"}

	r := runCLI(t, append(admin, "--enc", "json", "token", "--permissions", "read")...)
	var issued struct{ Token, ID string }
	if r.code != 0 || json.Unmarshal([]byte(r.out), &issued) != nil || !api.ValidTokenID(issued.ID) {
		t.Fatalf("token: %+v", r)
	}
	r = runCLI(t, append(admin, "token", "ls")...)
	if r.code != 0 || !strings.HasPrefix(r.out, issued.ID+"  alice") || !strings.Contains(r.out, "valid") || strings.Contains(r.out, issued.Token) {
		t.Fatalf("token ls: %+v", r)
	}
	r = runCLI(t, append(admin, "--enc", "json", "token", "ls")...)
	var rec api.TokenRecord
	if r.code != 0 || json.Unmarshal([]byte(r.out), &rec) != nil || rec.ID != issued.ID || rec.Revoked {
		t.Fatalf("token ls --enc json: %+v", r)
	}
	if r := runCLI(t, h, "--token", issued.Token, "version"); r.code != 0 {
		t.Fatalf("version before the revocation: %+v", r)
	}
	r = runCLI(t, append(admin, "token", "revoke", issued.ID)...)
	if r.code != 0 || !strings.HasPrefix(r.out, "revoked "+issued.ID) {
		t.Fatalf("token revoke: %+v", r)
	}
	r = runCLI(t, h, "--token", issued.Token, "version")
	if r.code != ExitAPI || !strings.Contains(r.err, "token revoked") || strings.Count(r.err, "\n") != 1 {
		t.Fatalf("version with a revoked token: %+v", r)
	}
	// Twice is fine; JSON shows the record.
	r = runCLI(t, append(admin, "--enc", "json", "token", "revoke", issued.ID)...)
	if r.code != 0 || json.Unmarshal([]byte(r.out), &rec) != nil || !rec.Revoked {
		t.Fatalf("second revoke: %+v", r)
	}
	if r := runCLI(t, append(admin, "token", "ls")...); r.code != 0 || !strings.Contains(r.out, "revoked 20") {
		t.Fatalf("token ls after the revocation: %+v", r)
	}
	// Unknown id: the API's 404 (exit 2); malformed id: exit 1 before any request; bob: 403.
	if r := runCLI(t, append(admin, "token", "revoke", strings.Repeat("0", 32))...); r.code != ExitAPI || !strings.Contains(r.err, "(HTTP 404)") {
		t.Fatalf("unknown id: %+v", r)
	}
	if r := runCLI(t, append(admin, "token", "revoke", "nope")...); r.code != ExitLocal || !strings.Contains(r.err, "not a token id") {
		t.Fatalf("bad id: %+v", r)
	}
	if r := runCLI(t, h, "--basic-auth", "bob:bobpw", "token", "ls"); r.code != ExitAPI || !strings.Contains(r.err, "(HTTP 403)") {
		t.Fatalf("bob lists: %+v", r)
	}
}
