package rest

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Permission is what a user or a token may do. Every route needs one (routePermissions).
type Permission string

// The permissions. Admin includes the others.
const (
	// PermRead allows the GET endpoints.
	PermRead Permission = "read"
	// PermPin allows changing the pinset: POST/DELETE /pins..., POST /add, recover.
	PermPin Permission = "pin"
	// PermAdmin allows everything, peer removal, ipfs gc and minting tokens with a token included.
	PermAdmin Permission = "admin"
)

// permNone marks the routes open to anyone (GET /health).
const permNone Permission = ""

// permSet is a set of permissions, with admin already expanded to every bit.
type permSet uint8

const (
	bitRead permSet = 1 << iota
	bitPin
	bitAdmin
	allPerms = bitRead | bitPin | bitAdmin
)

var permBits = map[Permission]permSet{PermRead: bitRead, PermPin: bitPin, PermAdmin: allPerms}

// parsePerms reads permission names; unknown names are an error naming the valid ones.
func parsePerms(names []string) (permSet, error) {
	var s permSet
	for _, n := range names {
		b, ok := permBits[Permission(strings.TrimSpace(n))]
		if !ok {
			return 0, fmt.Errorf("unknown permission %q (use read, pin or admin)", n)
		}
		s |= b
	}
	return s, nil
}

// has reports whether s allows what p requires.
func (s permSet) has(p Permission) bool {
	if p == permNone {
		return true
	}
	b := permBits[p]
	if p == PermAdmin {
		return s&bitAdmin != 0
	}
	return b != 0 && s&b == b
}

// names lists s with admin collapsed: ["admin"] or a subset of ["read", "pin"].
func (s permSet) names() []string {
	if s&bitAdmin != 0 {
		return []string{string(PermAdmin)}
	}
	out := []string{}
	if s&bitRead != 0 {
		out = append(out, string(PermRead))
	}
	if s&bitPin != 0 {
		out = append(out, string(PermPin))
	}
	return out
}

func (s permSet) String() string {
	n := s.names()
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

// routePermissions is the permission every route needs, keyed by its ServeMux pattern. routes()
// registers handlers through handle, which refuses a pattern missing here. POST /token is
// special: basic auth of any user is enough; a bearer token needs admin.
var routePermissions = map[string]Permission{
	"GET /health":                    permNone,
	"GET /id":                        PermRead,
	"GET /version":                   PermRead,
	"GET /peers":                     PermRead,
	"DELETE /peers/{peerid}":         PermAdmin,
	"POST /add":                      PermPin,
	"GET /allocations":               PermRead,
	"GET /allocations/{cid}":         PermRead,
	"GET /pins":                      PermRead,
	"GET /pins/{cid}":                PermRead,
	"POST /pins/recover":             PermPin,
	"POST /pins/batch":               PermPin,
	"POST /pins/{cid}":               PermPin,
	"DELETE /pins/{cid}":             PermPin,
	"POST /pins/{first}/{rest...}":   PermPin,
	"DELETE /pins/{first}/{rest...}": PermPin,
	"POST /ipfs/gc":                  PermAdmin,
	"GET /monitor/metrics":           PermRead,
	"GET /monitor/metrics/{name}":    PermRead,
	"GET /health/alerts":             PermRead,
	"GET /health/graph":              PermRead,
	"POST /token":                    PermAdmin,
	"GET /token":                     PermAdmin,
	"DELETE /token/{id}":             PermAdmin,
	"GET /token/whoami":              permNone,
	"GET /pins/counts":               PermRead,
	"GET /ui/":                       permNone,
}

// tokenPattern is the route of POST /token, which basic auth users may always call.
const tokenPattern = "POST /token"

// handle registers h for pattern behind the permission check of routePermissions.
func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	perm, ok := routePermissions[pattern]
	if !ok {
		panic(fmt.Sprintf("restapi: route %q has no entry in routePermissions (auth.go)", pattern))
	}
	s.patterns = append(s.patterns, pattern)
	mux.Handle(pattern, s.authorize(pattern, perm, h))
}

// principal is who made a request: a basic auth user or the holder of a user's token.
type principal struct {
	user  string
	perms permSet
	// token is set for bearer tokens; expires is then the token's expiry.
	token   bool
	expires time.Time
	tokenID string
}

type principalKey struct{}

func principalFrom(ctx context.Context) (principal, bool) {
	p, ok := ctx.Value(principalKey{}).(principal)
	return p, ok
}

// authEnabled reports whether the API checks credentials.
func (s *Server) authEnabled() bool { return len(s.cfg.BasicAuthCredentials) > 0 }

// userPerms are the configured permissions of a user (admin when not listed).
func (s *Server) userPerms(user string) permSet {
	names, ok := s.cfg.BasicAuthPermissions[user]
	if !ok {
		return allPerms
	}
	p, _ := parsePerms(names) // Validate checked the names
	return p
}

// auth authenticates requests when credentials are configured: basic auth or a bearer token
// (token.go). The principal goes in the request context for authorize. GET /health, the
// status page's assets (/ui/) and CORS preflights need no credentials.
func (s *Server) auth(next http.Handler) http.Handler {
	if !s.authEnabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" || isUIPath(r.URL.Path) || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		p, status, msg := s.authenticate(r)
		if status != 0 {
			// The status page asks with X-Pincluster-UI and draws its own login form: no
			// challenge, which would make the browser pop up its own dialog.
			if status == http.StatusUnauthorized && r.Header.Get("X-Pincluster-UI") == "" {
				w.Header().Set("WWW-Authenticate", `Basic realm="Restricted pincluster API"`)
				if p.token {
					w.Header().Add("WWW-Authenticate", `Bearer realm="Restricted pincluster API", error="invalid_token"`)
				}
			}
			writeErrorStatus(w, status, msg)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// authenticate checks the Authorization header. status is 0 on success, else the HTTP status
// and message to answer with (p.token tells a bearer failure apart).
func (s *Server) authenticate(r *http.Request) (p principal, status int, msg string) {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(strings.TrimSpace(h), " ")
	if strings.EqualFold(scheme, "Bearer") {
		p, err := s.verifyToken(strings.TrimSpace(cred), time.Now())
		if err != nil {
			return principal{token: true}, tokenErrorStatus(err), err.Error()
		}
		return p, 0, ""
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return p, http.StatusUnauthorized, "this API needs basic auth credentials (e.g. --basic-auth user:password) or a bearer token (--token, from POST /token)"
	}
	if !s.checkPassword(user, pass) {
		return p, http.StatusUnauthorized, "wrong user or password"
	}
	return principal{user: user, perms: s.userPerms(user)}, 0, ""
}

// checkPassword compares in constant time, also for unknown users, so the timing does not
// reveal which users exist.
func (s *Server) checkPassword(user, pass string) bool {
	want, known := s.cfg.BasicAuthCredentials[user]
	if !known {
		want = "\x00"
	}
	return subtle.ConstantTimeCompare([]byte(pass), []byte(want)) == 1 && known
}

// authorize checks that the request's principal has perm (403 otherwise). Without configured
// credentials everything is allowed.
func (s *Server) authorize(pattern string, perm Permission, next http.Handler) http.Handler {
	if perm == permNone {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authEnabled() {
			next.ServeHTTP(w, r)
			return
		}
		p, ok := principalFrom(r.Context())
		switch {
		case !ok:
			writeErrorStatus(w, http.StatusUnauthorized, "this API needs credentials")
			return
		case pattern == tokenPattern && !p.token:
			// any basic auth user may ask for a token within its own permissions
		case !p.perms.has(perm):
			if p.token {
				writeErrorStatus(w, http.StatusForbidden, fmt.Sprintf("this token lacks the %q permission (it has: %s): request one with it using POST /token", perm, p.perms))
			} else {
				writeErrorStatus(w, http.StatusForbidden, fmt.Sprintf("user %q lacks the %q permission (it has: %s; see api.restapi.basic_auth_permissions)", p.user, perm, p.perms))
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validateAuth checks basic_auth_credentials, basic_auth_permissions and the token lifetimes.
func (c Config) validateAuth() error {
	for user := range c.BasicAuthCredentials {
		if user == "" || strings.Contains(user, ":") {
			return fmt.Errorf("%s.basic_auth_credentials: user name %q must be non-empty and contain no ':'", configKey, user)
		}
	}
	users := make([]string, 0, len(c.BasicAuthPermissions))
	for u := range c.BasicAuthPermissions {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, user := range users {
		names := c.BasicAuthPermissions[user]
		if _, ok := c.BasicAuthCredentials[user]; !ok {
			return fmt.Errorf("%s.basic_auth_permissions: user %q is not in basic_auth_credentials (known: %s)", configKey, user, strings.Join(sortedKeys(c.BasicAuthCredentials), ", "))
		}
		if len(names) == 0 {
			return fmt.Errorf("%s.basic_auth_permissions: user %q has an empty list: give at least one of read, pin, admin (or remove the user)", configKey, user)
		}
		if _, err := parsePerms(names); err != nil {
			return fmt.Errorf("%s.basic_auth_permissions: user %q: %v", configKey, user, err)
		}
	}
	if c.TokenTTL <= 0 {
		return fmt.Errorf("%s.token_ttl: must be positive, got %s (default %s)", configKey, c.TokenTTL, DefaultConfig().TokenTTL)
	}
	if c.TokenMaxTTL < c.TokenTTL {
		return fmt.Errorf("%s.token_max_ttl: %s is less than token_ttl (%s): raise it or lower token_ttl", configKey, c.TokenMaxTTL, c.TokenTTL)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
