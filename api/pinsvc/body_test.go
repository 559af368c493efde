package pinsvc

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/config"
)

// startEnv is newEnv's server listening on loopback with read_timeout rt: the body handling is
// net/http's over a real connection.
func startEnv(t *testing.T, rt time.Duration) (*env, string) {
	t.Helper()
	e := newEnv(t)
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.ReadTimeout = config.Duration(rt)
	s, err := New(cfg, e.s.d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	e.s = s
	return e, strings.TrimPrefix(s.URL(), "http://")
}

// rawRequest sends a request's head as given (a Content-Length its body never fills) and
// returns the answer; the client's deadline only keeps a server that never answers from
// hanging the test.
func rawRequest(t *testing.T, addr, head string) (*http.Response, Failure) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	var f Failure
	if b, _ := io.ReadAll(resp.Body); len(b) > 0 {
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("answer %d %q is not a Failure: %v", resp.StatusCode, b, err)
		}
	}
	return resp, f
}

// A request that declares a body it never sends is a 408 once read_timeout has passed, and
// changes nothing, as in the REST API: the body is read before the handler. Before, DELETE
// (which reads no body) removed the request, then answered 202 when net/http's drain of the
// body gave up; POST /pins answered 400 "i/o timeout".
func TestDeclaredBodyNeverSent(t *testing.T) {
	rt := 200 * time.Millisecond
	e, addr := startEnv(t, rt)
	c := mkCid(t, 1)
	ps := e.add(Pin{Cid: c.String(), Name: "kept"})
	writes, removes := e.pins.pins, e.pins.rms

	for _, head := range []string{
		"DELETE /pins/" + ps.RequestID + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer writer\r\nContent-Length: 100\r\n",
		"POST /pins HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer writer\r\nContent-Type: application/json\r\nContent-Length: 100\r\n",
		"POST /pins/" + ps.RequestID + " HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer writer\r\nContent-Length: 100\r\n",
	} {
		resp, f := rawRequest(t, addr, head)
		if resp.StatusCode != http.StatusRequestTimeout || f.Error.Reason != "REQUEST_TIMEOUT" ||
			!strings.Contains(f.Error.Details, "did not arrive within 200ms (api.pinsvcapi.read_timeout)") {
			t.Fatalf("%s: %d %+v, want 408", strings.Fields(head)[0], resp.StatusCode, f)
		}
	}
	if e.pins.pins != writes || e.pins.rms != removes {
		t.Fatal("a request whose body never arrived changed the pinset")
	}
	if code, body := e.do("GET", "/pins/"+ps.RequestID, nil); code != 200 {
		t.Fatalf("the request is gone: %d %s", code, body)
	}
	// A DELETE that sends the body it declares is served.
	resp, _ := rawRequest(t, addr, "DELETE /pins/"+ps.RequestID+" HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer writer\r\nContent-Length: 2\r\n\r\n{}")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE with its body: %d", resp.StatusCode)
	}
}

// An answer given before the body is read (no credentials, a wrong method, an unknown route,
// a body declared over the limit) does not wait for that body: the connection is closed
// instead of drained. read_timeout is an hour here, so an answer at all says it did not wait.
func TestAnswerBeforeBodyDoesNotWaitForIt(t *testing.T) {
	_, addr := startEnv(t, time.Hour)
	for _, tc := range []struct {
		head   string
		status int
	}{
		{"DELETE /pins/0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n", 401},
		{"DELETE /pins/0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer reader\r\nContent-Length: 100\r\n", 403},
		{"PUT /pins HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer writer\r\nContent-Length: 100\r\n", 405},
		{"POST /other HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer writer\r\nContent-Length: 100\r\n", 404},
		{"POST /pins HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer writer\r\nContent-Length: 100000\r\n", 413},
	} {
		resp, f := rawRequest(t, addr, tc.head)
		if resp.StatusCode != tc.status || f.Error.Reason == "" || !resp.Close {
			t.Fatalf("%q: %d %+v close=%v, want %d on a closed connection", strings.Fields(tc.head)[0], resp.StatusCode, f, resp.Close, tc.status)
		}
	}
}
