package client

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest"
)

// idCluster is a rest.Membership that answers Version only (enough for auth tests); the other
// services are never called.
type idCluster struct{ rest.Membership }

func (idCluster) Version() api.Version { return api.Version{Version: "9.9.9"} }

// realAPI serves the real REST handler with users alice (admin) and bob (read).
func realAPI(t *testing.T) http.Handler {
	t.Helper()
	cfg := rest.DefaultConfig()
	cfg.BasicAuthCredentials = map[string]string{"alice": "secret", "bob": "bobpw"}
	cfg.BasicAuthPermissions = map[string][]string{"bob": {"read"}}
	s, err := rest.NewServer(cfg, rest.Services{Pins: struct{ rest.Pins }{}, Status: struct{ rest.PinStatus }{}, Peers: idCluster{}, Health: struct{ rest.Health }{}, Add: struct{ rest.Adder }{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler()
}

func TestTokenAgainstRealServer(t *testing.T) {
	h := realAPI(t)
	ctx := context.Background()
	c, srv := newTestClient(t, h, Config{Username: "alice", Password: "secret"})
	tok, err := c.Token(ctx, time.Hour, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := New(Config{Hosts: []string{maddrOf(t, srv)}, Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := tc.Version(ctx); err != nil || v.Version != "9.9.9" {
		t.Fatalf("Version with the token: %+v %v", v, err)
	}
	// The read token cannot gc: a 403 with the server's message.
	var ae api.Error
	if _, err = tc.IPFSGC(ctx, false); !errors.As(err, &ae) || ae.Code != 403 || !strings.Contains(ae.Message, `lacks the "admin" permission`) {
		t.Fatalf("gc with a read token: %v", err)
	}
	// Bob cannot give a token more than he has.
	bc, _ := New(Config{Hosts: []string{maddrOf(t, srv)}, Username: "bob", Password: "bobpw"})
	if _, err := bc.Token(ctx, 0, []string{"pin"}); !errors.As(err, &ae) || ae.Code != 403 {
		t.Fatalf("bob asks pin: %v", err)
	}
	// Bad credentials and bad tokens are 401s.
	bad, _ := New(Config{Hosts: []string{maddrOf(t, srv)}, Username: "alice", Password: "nope"})
	if _, err := bad.Token(ctx, 0, nil); !errors.As(err, &ae) || ae.Code != 401 {
		t.Fatalf("wrong password: %v", err)
	}
	forged, _ := New(Config{Hosts: []string{maddrOf(t, srv)}, Token: tok + "x"})
	if _, err := forged.Version(ctx); !errors.As(err, &ae) || ae.Code != 401 || !strings.Contains(ae.Message, "POST /token") {
		t.Fatalf("forged token: %v", err)
	}
	if _, err := c.Token(ctx, -time.Second, nil); err == nil {
		t.Fatal("negative lifetime accepted")
	}
}

func TestTokenRequestShape(t *testing.T) {
	var auth, body, ctype string
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, ctype = r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		if r.URL.Path == "/token" {
			io.WriteString(w, `{"token":"t0k"}`)
			return
		}
		io.WriteString(w, `{"version":"1"}`)
	}), Config{Username: "u", Password: "p", Token: "abc"})
	tok, err := c.Token(context.Background(), 90*time.Minute, []string{"read", "pin"})
	if err != nil || tok != "t0k" {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	// POST /token prefers basic auth; other calls send the bearer token.
	if !strings.HasPrefix(auth, "Basic ") || ctype != "application/json" || body != `{"expires_in":"1h30m0s","permissions":["read","pin"]}` {
		t.Fatalf("auth %q type %q body %q", auth, ctype, body)
	}
	if _, err := c.Version(context.Background()); err != nil || auth != "Bearer abc" {
		t.Fatalf("Version: auth %q, %v", auth, err)
	}
}
