package rest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// FuzzAuthorization sends arbitrary Authorization headers to a protected GET and POST route:
// nothing panics, every answer is a 200 or a JSON 401/403, and a 200 only comes with alice's
// password or one of the tokens the server issued (a read token only on the GET).
func FuzzAuthorization(f *testing.F) {
	s, _ := newTestServer(f, func(c *Config) {
		c.BasicAuthCredentials = map[string]string{"alice": "secret", "bob": "bobpw"}
		c.BasicAuthPermissions = map[string][]string{"bob": {"read"}}
	})
	h := s.Handler()
	now := time.Now()
	admin, _ := signToken(api.NewTokenID(), "alice", "secret", allPerms, now, now.Add(time.Hour))
	read, _ := signToken(api.NewTokenID(), "bob", "bobpw", bitRead, now, now.Add(time.Hour))
	expired, _ := signToken(api.NewTokenID(), "alice", "secret", allPerms, now.Add(-2*time.Hour), now.Add(-time.Hour))
	for _, seed := range []string{"", "Basic", "Basic ", basic("alice", "secret"), basic("alice", "wrong"), basic("bob", "bobpw"),
		"Basic YWxpY2U6", "Basic !!!", "Bearer", "Bearer ", "Bearer " + admin, "bearer " + read, "Bearer " + expired,
		"Bearer " + admin + "x", "Bearer " + strings.Replace(admin, ".", "..", 1), "Bearer a.b.c", "Bearer e30.e30.", "Digest x",
		"Bearer " + admin + " " + admin, "Basic " + admin} {
		f.Add(seed)
	}
	pinTarget := "/pins/" + testCid("fuzz").String()
	f.Fuzz(func(t *testing.T, header string) {
		for _, method := range []string{"GET", "POST"} {
			target := "/id"
			if method == "POST" {
				target = pinTarget
			}
			r := httptest.NewRequest(method, target, nil)
			r.Header.Set("Authorization", header)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			checkAnswer(t, method+" "+target+" with "+header, w)
			if w.Code != http.StatusOK {
				continue
			}
			user, pass, isBasic := r.BasicAuth()
			scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
			cred = strings.TrimSpace(cred)
			bearer := strings.EqualFold(scheme, "Bearer")
			valid := (!bearer && isBasic && user == "alice" && pass == "secret") ||
				(!bearer && isBasic && user == "bob" && pass == "bobpw" && method == "GET") ||
				(bearer && cred == admin) || (bearer && cred == read && method == "GET")
			if !valid {
				t.Fatalf("%s %s answered 200 to Authorization %q", method, target, header)
			}
		}
	})
}
