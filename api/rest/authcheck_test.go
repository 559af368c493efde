package rest

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// CheckAuth answers for another listener as the REST API's own routes would.
func TestCheckAuth(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) {
		c.BasicAuthCredentials = map[string]string{}
		for u, p := range authUsers {
			c.BasicAuthCredentials[u] = p
		}
		c.BasicAuthPermissions = map[string][]string{"bob": {"read"}, "carol": {"read", "pin"}}
	})
	readTok := issue(t, s.Handler(), basic("carol", "carolpw"), "", strings.NewReader(`{"permissions":["read"]}`)).Token
	pinTok := issue(t, s.Handler(), basic("carol", "carolpw"), "", nil).Token
	for _, tc := range []struct {
		name, auth string
		perm       Permission
		want       int
	}{
		{"none", "", PermRead, 401},
		{"wrong password", basic("bob", "nope"), PermRead, 401},
		{"reader reads", basic("bob", "bobpw"), PermRead, 0},
		{"reader pins", basic("bob", "bobpw"), PermPin, 403},
		{"read token reads", bearer(readTok), PermRead, 0},
		{"read token pins", bearer(readTok), PermPin, 403},
		{"pin token pins", bearer(pinTok), PermPin, 0},
		{"bad token", bearer("x.y.z"), PermRead, 401},
		{"admin", basic("alice", "secret"), PermAdmin, 0},
	} {
		r := httptest.NewRequest("GET", "/pins", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got, msg := s.CheckAuth(r, tc.perm); got != tc.want || (got != 0 && msg == "") {
			t.Errorf("%s: %d %q, want %d", tc.name, got, msg, tc.want)
		}
	}
	// Without credentials configured everything is allowed.
	open, _ := newTestServer(t, nil)
	if got, _ := open.CheckAuth(httptest.NewRequest("POST", "/pins", nil), PermPin); got != 0 {
		t.Fatalf("open API: %d", got)
	}
}
