package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest"
)

// versionCluster is a rest.Membership that answers Version only: enough to exercise auth (the other
// services are never called).
type versionCluster struct{ rest.Membership }

func (versionCluster) Version() api.Version { return api.Version{Version: "7.7.7"} }

// startAuthAPI serves the real REST API on loopback with users alice (admin) and bob (read)
// and returns its multiaddr.
func startAuthAPI(t *testing.T) string {
	t.Helper()
	cfg := rest.DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.BasicAuthCredentials = map[string]string{"alice": "secret", "bob": "bobpw"}
	cfg.BasicAuthPermissions = map[string][]string{"bob": {"read"}}
	s, err := rest.NewServer(cfg, rest.Services{Pins: struct{ rest.Pins }{}, Status: struct{ rest.PinStatus }{}, Peers: versionCluster{}, Health: struct{ rest.Health }{}, Add: struct{ rest.Adder }{}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
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

func TestTokenCommand(t *testing.T) {
	isolate(t)
	h := "--host=" + startAuthAPI(t)

	r := runCLI(t, h, "--basic-auth", "alice:secret", "token", "--expires-in", "1h", "--permissions", "read")
	tok := strings.TrimSpace(r.out)
	if r.code != 0 || strings.Count(tok, ".") != 2 || strings.Count(r.out, "\n") != 1 {
		t.Fatalf("token: %+v", r)
	}
	if r := runCLI(t, h, "--token", tok, "version"); r.code != 0 || r.out != "7.7.7\n" {
		t.Fatalf("version with --token: %+v", r)
	}
	t.Setenv("PINCLUSTER_TOKEN", tok)
	if r := runCLI(t, h, "version"); r.code != 0 || r.out != "7.7.7\n" {
		t.Fatalf("version with PINCLUSTER_TOKEN: %+v", r)
	}
	// A read token cannot gc: exit 2 with the server's message.
	r = runCLI(t, h, "ipfs", "gc")
	if r.code != ExitAPI || !strings.Contains(r.err, `this token lacks the "admin" permission`) || !strings.HasSuffix(r.err, "(HTTP 403)\n") {
		t.Fatalf("gc with a read token: %+v", r)
	}
	t.Setenv("PINCLUSTER_TOKEN", "")

	// A bad or tampered token is a 401, exit 2.
	r = runCLI(t, h, "--token", tok[:len(tok)-2]+"xx", "version")
	if r.code != ExitAPI || !strings.Contains(r.err, "request a new one with POST /token (HTTP 401)") {
		t.Fatalf("tampered token: %+v", r)
	}
	// Wrong password and permissions over the user's: exit 2.
	if r := runCLI(t, h, "--basic-auth", "alice:nope", "token"); r.code != ExitAPI || !strings.Contains(r.err, "wrong user or password (HTTP 401)") {
		t.Fatalf("wrong password: %+v", r)
	}
	if r := runCLI(t, h, "--basic-auth", "bob:bobpw", "token", "--permissions", "read,pin"); r.code != ExitAPI || !strings.Contains(r.err, "(HTTP 403)") {
		t.Fatalf("bob asks pin: %+v", r)
	}
	// JSON output.
	r = runCLI(t, h, "--enc", "json", "--basic-auth", "bob:bobpw", "token")
	var out struct{ Token, ID string }
	if r.code != 0 || json.Unmarshal([]byte(r.out), &out) != nil || strings.Count(out.Token, ".") != 2 || !api.ValidTokenID(out.ID) {
		t.Fatalf("json: %+v", r)
	}
}

func TestTokenCommandLocalErrors(t *testing.T) {
	isolate(t)
	f := newFakeAPI(t)
	h := "--host=" + f.maddr()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token"}, "needs credentials: give --basic-auth"},
		{[]string{"--basic-auth", "a:b", "token", "--permissions", "root"}, `unknown permission "root"`},
		{[]string{"--basic-auth", "a:b", "token", "--expires-in", "soon"}, "expires-in"},
		{[]string{"--basic-auth", "a:b", "token", "--expires-in", "0s"}, "must be positive"},
	} {
		r := runCLI(t, append([]string{h}, tc.args...)...)
		if r.code != ExitLocal || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: %+v, want exit 1 and %q", tc.args, r, tc.want)
		}
	}
	if f.count() != 0 {
		t.Fatal("a request was sent for invalid input")
	}
}
