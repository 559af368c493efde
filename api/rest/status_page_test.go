package rest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

func TestStatusPageServedWithoutCredentials(t *testing.T) {
	h := newAuthServer(t, nil)
	for path, ctype := range map[string]string{
		"/ui/":           "text/html; charset=utf-8",
		"/ui/index.html": "text/html; charset=utf-8",
		"/ui/app.js":     "text/javascript; charset=utf-8",
		"/ui/style.css":  "text/css; charset=utf-8",
	} {
		resp := do(t, h, "GET", path, nil)
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if got := resp.Header.Get("Content-Type"); got != ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, ctype)
		}
		if resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" {
			t.Errorf("GET %s: cache headers %v", path, resp.Header)
		}
		if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("GET %s: no CSP", path)
		}
		// A revalidation with the ETag is a 304.
		resp2 := do(t, h, "GET", path, nil, "If-None-Match", resp.Header.Get("ETag"))
		resp2.Body.Close()
		if resp2.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match: %d, want 304", path, resp2.StatusCode)
		}
	}
	// /ui redirects to /ui/; unknown assets are 404; the page itself grants nothing else.
	if resp := do(t, h, "GET", "/ui", nil); resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /ui: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := do(t, h, "GET", "/ui/nope.js", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /ui/nope.js: %d", resp.StatusCode)
	}
	for _, path := range []string{"/ui/../pins", "/ui/%2e%2e/pins", "/pins/counts", "/token/whoami"} {
		resp := do(t, h, "GET", path, nil)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("GET %s without credentials: 200", path)
		}
	}
	if resp := do(t, h, "POST", "/ui/", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/: %d", resp.StatusCode)
	}
}

func TestStatusPageAssetsEscape(t *testing.T) {
	// The page's script builds the DOM with textContent only: data never becomes HTML.
	h := newAuthServer(t, nil)
	js := readAll(t, do(t, h, "GET", "/ui/app.js", nil))
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	html := readAll(t, do(t, h, "GET", "/ui/", nil))
	for _, bad := range []string{"http://", "https://", "<script>"} {
		if strings.Contains(html, bad) {
			t.Errorf("index.html has %q (no CDN, no inline script)", bad)
		}
	}
}

func TestWhoAmI(t *testing.T) {
	h := newAuthServer(t, nil)
	w := decode[WhoAmI](t, do(t, h, "GET", "/token/whoami", nil, "Authorization", basic("bob", authUsers["bob"])), http.StatusOK)
	if !w.Auth || w.User != "bob" || w.Write || strings.Join(w.Permissions, ",") != "read" {
		t.Errorf("bob: %+v", w)
	}
	w = decode[WhoAmI](t, do(t, h, "GET", "/token/whoami", nil, "Authorization", basic("carol", authUsers["carol"])), http.StatusOK)
	if !w.Write || w.Token {
		t.Errorf("carol: %+v", w)
	}
	tok := issue(t, h, basic("alice", authUsers["alice"]), "permissions=read", nil).Token
	w = decode[WhoAmI](t, do(t, h, "GET", "/token/whoami", nil, "Authorization", bearer(tok)), http.StatusOK)
	if !w.Token || w.Write || w.User != "alice" {
		t.Errorf("read token: %+v", w)
	}
	// Wrong credentials: 401; the page's requests get no Basic challenge (no browser dialog).
	resp := do(t, h, "GET", "/token/whoami", nil, "X-Pincluster-UI", "1")
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("no credentials from the page: %d %v", resp.StatusCode, resp.Header)
	}
	resp = do(t, h, "GET", "/token/whoami", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: %d %v", resp.StatusCode, resp.Header)
	}

	s, _ := newTestServer(t, nil)
	w = decode[WhoAmI](t, do(t, s.Handler(), "GET", "/token/whoami", nil), http.StatusOK)
	if w.Auth || !w.Write {
		t.Errorf("no auth: %+v", w)
	}
}

func TestPinCounts(t *testing.T) {
	s, f := newTestServer(t, nil)
	for _, n := range []string{"a", "b", "c"} {
		f.pins[testCid(n)] = api.NewPin(testCid(n), api.PinOptions{})
	}
	c := decode[PinCounts](t, do(t, s.Handler(), "GET", "/pins/counts", nil), http.StatusOK)
	if c.Pinset != 3 || len(c.Peers) != 1 || c.Peers[0].Peer != f.self.String() || c.Peers[0].Pinned != 1 || c.Peers[0].Queued != 1 {
		t.Errorf("counts %+v", c)
	}
	for _, call := range f.calls {
		if call.Method == "PinsJSON" || call.Method == "StatusAll" {
			t.Errorf("counts scanned the pinset: %s", call.Method)
		}
	}
	f.err = api.ErrUnavailable
	resp := do(t, s.Handler(), "GET", "/pins/counts", nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("failing count: %d", resp.StatusCode)
	}
}
