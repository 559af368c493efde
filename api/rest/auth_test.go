package rest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/pincluster/pincluster/api"
)

// authUsers are the users of the auth tests: alice is admin (not listed), bob reads, carol pins.
var authUsers = map[string]string{"alice": "secret", "bob": "bobpw", "carol": "carolpw"}

func newAuthServer(t testing.TB, mut func(*Config)) http.Handler {
	t.Helper()
	s, _ := newTestServer(t, func(c *Config) {
		c.BasicAuthCredentials = map[string]string{}
		for u, p := range authUsers {
			c.BasicAuthCredentials[u] = p
		}
		c.BasicAuthPermissions = map[string][]string{"bob": {"read"}, "carol": {"read", "pin"}}
		if mut != nil {
			mut(c)
		}
	})
	return s.Handler()
}

// issue asks POST /token?query with the Authorization header auth and checks a 200.
func issue(t testing.TB, h http.Handler, auth, query string, body io.Reader) TokenResponse {
	t.Helper()
	target := "/token"
	if query != "" {
		target += "?" + query
	}
	tr := decode[TokenResponse](t, do(t, h, "POST", target, body, "Authorization", auth), 200)
	if strings.Count(tr.Token, ".") != 2 {
		t.Fatalf("token %q is not a JWT", tr.Token)
	}
	return tr
}

func bearer(tok string) string { return "Bearer " + tok }

func TestTokenIssueAndUse(t *testing.T) {
	h := newAuthServer(t, nil)
	before := time.Now()
	tr := issue(t, h, basic("alice", "secret"), "", nil)
	if !slices.Equal(tr.Permissions, []string{"admin"}) {
		t.Errorf("permissions %v, want [admin]", tr.Permissions)
	}
	if d := tr.ExpiresAt.Sub(before); d < 24*time.Hour-2*time.Second || d > 24*time.Hour+time.Second {
		t.Errorf("expires_at %s is not token_ttl (24h) from now", tr.ExpiresAt)
	}
	// The claims are IPFS Cluster's (iss = user, HS256 with the password) plus exp and permissions.
	var claims tokenClaims
	if _, err := jwt.ParseWithClaims(tr.Token, &claims, func(*jwt.Token) (any, error) { return []byte("secret"), nil },
		jwt.WithValidMethods([]string{"HS256"})); err != nil {
		t.Fatal(err)
	}
	if claims.Issuer != "alice" || claims.ExpiresAt == nil || !slices.Equal(claims.Permissions, []string{"admin"}) {
		t.Fatalf("claims %+v", claims)
	}
	decode[map[string]any](t, do(t, h, "GET", "/id", nil, "Authorization", bearer(tr.Token)), 200)
	decode[map[string]any](t, do(t, h, "POST", "/pins/"+testCid("a").String(), nil, "Authorization", bearer(tr.Token)), 200)
	// Lower-case scheme and extra spaces are accepted (RFC 7235: the scheme is case-insensitive).
	decode[map[string]any](t, do(t, h, "GET", "/id", nil, "Authorization", "bearer  "+tr.Token+" "), 200)
	if resp := do(t, h, "GET", "/health", nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("GET /health = %d, want 204 without credentials", resp.StatusCode)
	}

	// Options as query parameters and as a JSON body (the body wins).
	tr = issue(t, h, basic("alice", "secret"), "expires_in=1h&permissions=read,pin", nil)
	if !slices.Equal(tr.Permissions, []string{"read", "pin"}) || tr.ExpiresAt.After(time.Now().Add(time.Hour+time.Second)) {
		t.Errorf("query form: %+v", tr)
	}
	tr = issue(t, h, basic("alice", "secret"), "expires_in=1h", strings.NewReader(`{"expires_in": "10m", "permissions": ["read"]}`))
	if !slices.Equal(tr.Permissions, []string{"read"}) || tr.ExpiresAt.After(time.Now().Add(10*time.Minute+time.Second)) {
		t.Errorf("body form: %+v", tr)
	}
}

func TestTokenIssueErrors(t *testing.T) {
	h := newAuthServer(t, func(c *Config) { c.TokenMaxTTL = 48 * time.Hour })
	alice := basic("alice", "secret")
	tests := []struct {
		name, auth, query, body string
		status                  int
		msg                     string
	}{
		{"no credentials", "", "", "", 401, "basic auth"},
		{"wrong password", basic("alice", "nope"), "", "", 401, "wrong user or password"},
		{"unknown user", basic("mallory", "secret"), "", "", 401, "wrong user or password"},
		{"garbage header", "Basic !!!", "", "", 401, "basic auth"},
		{"over max ttl", alice, "expires_in=49h", "", 400, "api.restapi.token_max_ttl"},
		{"negative ttl", alice, "expires_in=-1h", "", 400, "positive duration"},
		{"not a duration", alice, "expires_in=soon", "", 400, "positive duration"},
		{"unknown permission", alice, "permissions=root", "", 400, `unknown permission "root"`},
		{"bad body", alice, "", `{"ttl": "1h"}`, 400, "not a token request"},
		{"bob asks pin", basic("bob", "bobpw"), "permissions=read,pin", "", 403, `cannot give a token the "pin" permission`},
		{"carol asks admin", basic("carol", "carolpw"), "", `{"permissions": ["admin"]}`, 403, `"admin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/token"
			if tt.query != "" {
				target += "?" + tt.query
			}
			var hdr []string
			if tt.auth != "" {
				hdr = []string{"Authorization", tt.auth}
			}
			wantError(t, do(t, h, "POST", target, strings.NewReader(tt.body), hdr...), tt.status, tt.msg)
		})
	}
	// A user's token defaults to the user's permissions.
	if tr := issue(t, h, basic("bob", "bobpw"), "", nil); !slices.Equal(tr.Permissions, []string{"read"}) {
		t.Errorf("bob's default token permissions %v, want [read]", tr.Permissions)
	}
	// An empty password cannot sign tokens.
	h = newAuthServer(t, func(c *Config) { c.BasicAuthCredentials["dave"] = "" })
	wantError(t, do(t, h, "POST", "/token", nil, "Authorization", basic("dave", "")), 400, `user "dave" has an empty password`)
	// Without credentials configured there are no tokens.
	s, _ := newTestServer(t, nil)
	wantError(t, do(t, s.Handler(), "POST", "/token", nil), 400, "basic_auth_credentials")
}

func TestTokenPermissions(t *testing.T) {
	h := newAuthServer(t, nil)
	c := testCid("p").String()
	read := issue(t, h, basic("alice", "secret"), "permissions=read", nil).Token
	decode[map[string]any](t, do(t, h, "GET", "/id", nil, "Authorization", bearer(read)), 200)
	lines(t, do(t, h, "GET", "/pins", nil, "Authorization", bearer(read)), 200)
	wantError(t, do(t, h, "POST", "/pins/"+c, nil, "Authorization", bearer(read)), 403, `this token lacks the "pin" permission`)
	wantError(t, do(t, h, "DELETE", "/pins/"+c, nil, "Authorization", bearer(read)), 403, `"pin"`)
	wantError(t, do(t, h, "POST", "/ipfs/gc", nil, "Authorization", bearer(read)), 403, `"admin"`)

	pin := issue(t, h, basic("carol", "carolpw"), "permissions=pin", nil).Token
	decode[map[string]any](t, do(t, h, "POST", "/pins/"+c, nil, "Authorization", bearer(pin)), 200)
	wantError(t, do(t, h, "GET", "/id", nil, "Authorization", bearer(pin)), 403, `lacks the "read" permission`)

	// Basic auth users have their configured permissions too.
	wantError(t, do(t, h, "POST", "/pins/"+c, nil, "Authorization", basic("bob", "bobpw")), 403, "basic_auth_permissions")
	decode[map[string]any](t, do(t, h, "GET", "/id", nil, "Authorization", basic("bob", "bobpw")), 200)

	// A token minting tokens needs admin; the new token ends no later than its parent.
	wantError(t, do(t, h, "POST", "/token", nil, "Authorization", bearer(read)), 403, `"admin"`)
	parent := issue(t, h, basic("alice", "secret"), "expires_in=1h", nil)
	child := issue(t, h, bearer(parent.Token), "expires_in=2h&permissions=read", nil)
	if child.ExpiresAt.After(parent.ExpiresAt) || !slices.Equal(child.Permissions, []string{"read"}) {
		t.Fatalf("child token %+v outlives or exceeds parent %+v", child, parent)
	}
}

func TestTokenRejected(t *testing.T) {
	h := newAuthServer(t, nil)
	now := time.Now()
	expired, err := signToken(api.NewTokenID(), "alice", "secret", allPerms, now.Add(-2*time.Hour), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	good := issue(t, h, basic("alice", "secret"), "permissions=read", nil).Token
	parts := strings.Split(good, ".")

	// Tampered: the payload says admin, the signature is the read token's.
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `["read"]`, `["admin"]`, 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	// alg "none" and a token signed with another key.
	none := jwt.NewWithClaims(jwt.SigningMethodNone, tokenClaims{Permissions: []string{"admin"}, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "alice", Audience: jwt.ClaimStrings{tokenAudience}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}})
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	wrongKey, _ := signToken(api.NewTokenID(), "alice", "guess", allPerms, now, now.Add(time.Hour))
	unknown, _ := signToken(api.NewTokenID(), "mallory", "secret", allPerms, now, now.Add(time.Hour))
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: "alice", Audience: jwt.ClaimStrings{tokenAudience}}).SignedString([]byte("secret"))
	otherAud, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims{Permissions: []string{"admin"}, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "alice", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}).SignedString([]byte("secret"))
	noPerms, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, tokenClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "alice", Audience: jwt.ClaimStrings{tokenAudience}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}).SignedString([]byte("secret"))

	tests := []struct{ name, tok, msg string }{
		{"expired", expired, "token expired at " + now.Add(-time.Hour).UTC().Format(time.RFC3339) + ": request a new one with POST /token"},
		{"tampered", tampered, "signature is invalid"},
		{"alg none", noneTok, "request a new one"},
		{"wrong key", wrongKey, "signature is invalid"},
		{"unknown issuer", unknown, "signature is invalid"},
		{"no exp", noExp, "no expiry"},
		{"other audience", otherAud, "not for this API"},
		{"no permissions", noPerms, "no valid permissions"},
		{"empty", "", "empty bearer token"},
		{"garbage", "abc", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, h, "GET", "/id", nil, "Authorization", bearer(tt.tok))
			if !strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), " "), "Bearer") {
				t.Errorf("WWW-Authenticate %v", resp.Header.Values("WWW-Authenticate"))
			}
			wantError(t, resp, 401, tt.msg)
		})
	}
}

func TestPasswordChangeRevokesTokens(t *testing.T) {
	h := newAuthServer(t, nil)
	tok := issue(t, h, basic("carol", "carolpw"), "", nil).Token
	decode[map[string]any](t, do(t, h, "GET", "/id", nil, "Authorization", bearer(tok)), 200)
	changed := newAuthServer(t, func(c *Config) { c.BasicAuthCredentials["carol"] = "newpw" })
	wantError(t, do(t, changed, "GET", "/id", nil, "Authorization", bearer(tok)), 401, "password changed")
	// Lowering a user's permissions lowers its existing tokens too.
	lowered := newAuthServer(t, func(c *Config) { c.BasicAuthPermissions["carol"] = []string{"read"} })
	decode[map[string]any](t, do(t, lowered, "GET", "/id", nil, "Authorization", bearer(tok)), 200)
	wantError(t, do(t, lowered, "POST", "/pins/"+testCid("x").String(), nil, "Authorization", bearer(tok)), 403, `"pin"`)
}

// routeSamples is one request per route, to check the permission table end to end.
var routeSamples = map[string]string{
	"GET /health":                    "GET /health",
	"GET /id":                        "GET /id",
	"GET /version":                   "GET /version",
	"GET /peers":                     "GET /peers",
	"DELETE /peers/{peerid}":         "DELETE /peers/notapeer",
	"POST /add":                      "POST /add",
	"GET /allocations":               "GET /allocations",
	"GET /allocations/{cid}":         "GET /allocations/" + testCid("s").String(),
	"GET /pins":                      "GET /pins",
	"GET /pins/{cid}":                "GET /pins/" + testCid("s").String(),
	"POST /pins/recover":             "POST /pins/recover",
	"POST /pins/batch":               "POST /pins/batch",
	"POST /pins/{cid}":               "POST /pins/" + testCid("s").String(),
	"DELETE /pins/{cid}":             "DELETE /pins/" + testCid("s").String(),
	"POST /pins/{first}/{rest...}":   "POST /pins/ipfs/" + testCid("s").String() + "/a",
	"DELETE /pins/{first}/{rest...}": "DELETE /pins/ipfs/" + testCid("s").String() + "/a",
	"POST /ipfs/gc":                  "POST /ipfs/gc",
	"GET /monitor/metrics":           "GET /monitor/metrics",
	"GET /monitor/metrics/{name}":    "GET /monitor/metrics/freespace",
	"GET /health/alerts":             "GET /health/alerts",
	"GET /health/graph":              "GET /health/graph",
	"POST /token":                    "POST /token",
	"GET /token/whoami":              "GET /token/whoami",
	"GET /token":                     "GET /token",
	"DELETE /token/{id}":             "DELETE /token/00112233445566778899aabbccddeeff",
	"GET /pins/counts":               "GET /pins/counts",
	"GET /ui/":                       "GET /ui/",
}

func TestRoutePermissionTable(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.BasicAuthCredentials = map[string]string{"alice": "secret"} })
	// Every registered route has an entry (handle panics otherwise) and every entry is a route.
	if len(s.patterns) != len(routePermissions) {
		t.Fatalf("%d routes registered, %d in routePermissions", len(s.patterns), len(routePermissions))
	}
	for _, p := range s.patterns {
		if _, ok := routeSamples[p]; !ok {
			t.Errorf("route %q has no sample request in routeSamples", p)
		}
	}
	h := s.Handler()
	tokens := map[Permission]string{}
	for _, p := range []Permission{PermRead, PermPin, PermAdmin} {
		tokens[p] = issue(t, h, basic("alice", "secret"), "permissions="+string(p), nil).Token
	}
	for pattern, sample := range routeSamples {
		method, path, _ := strings.Cut(sample, " ")
		need := routePermissions[pattern]
		for have, tok := range tokens {
			resp := do(t, h, method, path, nil, "Authorization", bearer(tok))
			resp.Body.Close()
			allowed := have == PermAdmin || have == need || need == permNone
			if got := resp.StatusCode == http.StatusForbidden; got == allowed {
				t.Errorf("%s with a %q token: status %d (route needs %q)", sample, have, resp.StatusCode, need)
			}
			if resp.StatusCode == http.StatusUnauthorized {
				t.Errorf("%s with a %q token: 401", sample, have)
			}
		}
	}
}

func TestHandlePanicsOnUnmappedRoute(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "routePermissions") {
			t.Fatalf("recover() = %v", r)
		}
	}()
	s := &Server{}
	s.handle(http.NewServeMux(), "GET /unmapped", func(http.ResponseWriter, *http.Request) {})
}

func TestPermSet(t *testing.T) {
	tests := []struct {
		names []string
		has   []Permission
		lacks []Permission
		str   string
	}{
		{[]string{"read"}, []Permission{PermRead}, []Permission{PermPin, PermAdmin}, "read"},
		{[]string{"pin", " read "}, []Permission{PermRead, PermPin}, []Permission{PermAdmin}, "read, pin"},
		{[]string{"admin"}, []Permission{PermRead, PermPin, PermAdmin}, nil, "admin"},
		{nil, nil, []Permission{PermRead, PermPin, PermAdmin}, "none"},
	}
	for _, tt := range tests {
		s, err := parsePerms(tt.names)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tt.has {
			if !s.has(p) {
				t.Errorf("%v lacks %s", tt.names, p)
			}
		}
		for _, p := range tt.lacks {
			if s.has(p) {
				t.Errorf("%v has %s", tt.names, p)
			}
		}
		if !s.has(permNone) || s.String() != tt.str {
			t.Errorf("%v: String() = %q, want %q", tt.names, s, tt.str)
		}
	}
	if _, err := parsePerms([]string{"Admin"}); err == nil {
		t.Error("Admin accepted")
	}
}

func TestTokenResponseJSON(t *testing.T) {
	b, _ := json.Marshal(TokenResponse{Token: "t", Permissions: []string{"read"}})
	if !strings.Contains(string(b), `"token":"t"`) || !strings.Contains(string(b), `"expires_at"`) {
		t.Fatalf("%s", b)
	}
}
