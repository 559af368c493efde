package rest

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// rawConn is a client that writes a request by hand, so it can send its body as slowly as it
// likes, and reads the answer with a guard deadline.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
	stop chan struct{}
	sent time.Time
}

// dialRaw connects to base (http://host:port) and sends the request line and headers.
func dialRaw(t *testing.T, base, method, target string, hdr ...string) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: test\r\n")
	for i := 0; i+1 < len(hdr); i += 2 {
		b.WriteString(hdr[i] + ": " + hdr[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	c := &rawConn{t: t, conn: conn, br: bufio.NewReader(conn), stop: make(chan struct{}), sent: time.Now()}
	t.Cleanup(c.stopTrickle)
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *rawConn) write(s string) {
	if _, err := c.conn.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// trickle sends body one byte every interval, in the background, until it is all sent, the
// server closes or stopTrickle.
func (c *rawConn) trickle(body string, interval time.Duration) {
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; i < len(body); i++ {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			if _, err := c.conn.Write([]byte{body[i]}); err != nil {
				return
			}
		}
	}()
}

func (c *rawConn) stopTrickle() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
}

// response reads the answer; the guard deadline turns a server that never answers into a
// failure instead of a hung test. It returns the answer, its body and the time since the
// request was sent.
func (c *rawConn) response() (*http.Response, string, time.Duration) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.t.Fatalf("no answer after %s: %v", time.Since(c.sent), err)
	}
	elapsed := time.Since(c.sent)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), elapsed
}

// closed reports whether the server closed the connection after its answer.
func (c *rawConn) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.br.ReadByte()
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func wantJSONError(t *testing.T, resp *http.Response, body string, status int, msg string) {
	t.Helper()
	var e api.Error
	if resp.StatusCode != status || json.Unmarshal([]byte(body), &e) != nil || e.Code != status || !strings.Contains(e.Message, msg) {
		t.Fatalf("answer %d %q, want a JSON %d containing %q", resp.StatusCode, body, status, msg)
	}
}

// A client trickling its body one byte at a time is cut off once read_timeout has passed,
// whether the handler reads the body (POST /token) or not (POST /pins/{cid}), and POST /add is
// cut off when its body stalls for read_timeout, but not while bytes keep coming.
func TestReadTimeoutCutsSlowBodies(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	slack := 3 * time.Second // generous for a loaded machine; the old server never answered
	s, f := newTestServer(t, func(c *Config) {
		c.ReadTimeout = readTimeout
		c.BasicAuthCredentials = map[string]string{"alice": "secret"}
	})
	base := startServer(t, s)
	auth := basic("alice", "secret")

	t.Run("token body trickled", func(t *testing.T) {
		c := dialRaw(t, base, "POST", "/token", "Authorization", auth, "Content-Length", "1000")
		c.trickle(strings.Repeat(" ", 1000), 20*time.Millisecond)
		resp, body, elapsed := c.response()
		wantJSONError(t, resp, body, http.StatusRequestTimeout, "did not arrive within 300ms (api.restapi.read_timeout)")
		if elapsed < readTimeout || elapsed > readTimeout+slack {
			t.Fatalf("answered after %s, want about %s", elapsed, readTimeout)
		}
		if !c.closed() {
			t.Fatal("connection still open")
		}
	})

	// A route that takes no body still waits for it whole (net/http would otherwise drain it
	// before answering): a body that does not arrive is a 408 and the pin is not made.
	t.Run("unread body trickled", func(t *testing.T) {
		loris := testCid("loris")
		c := dialRaw(t, base, "POST", "/pins/"+loris.String(), "Authorization", auth, "Content-Length", "1000")
		c.trickle(strings.Repeat("x", 1000), 20*time.Millisecond)
		resp, body, elapsed := c.response()
		wantJSONError(t, resp, body, http.StatusRequestTimeout, "did not arrive within 300ms (api.restapi.read_timeout)")
		if elapsed < readTimeout || elapsed > readTimeout+slack {
			t.Fatalf("answered after %s, want about %s", elapsed, readTimeout)
		}
		if !c.closed() {
			t.Fatal("connection still open")
		}
		f.mu.Lock()
		_, pinned := f.pins[loris]
		f.mu.Unlock()
		if pinned {
			t.Fatal("pinned although its request's body never arrived")
		}
	})

	t.Run("declared body never sent", func(t *testing.T) {
		never := testCid("never")
		c := dialRaw(t, base, "POST", "/pins/"+never.String(), "Authorization", auth, "Content-Length", "100")
		resp, body, elapsed := c.response()
		wantJSONError(t, resp, body, http.StatusRequestTimeout, "did not arrive")
		if elapsed < readTimeout || elapsed > readTimeout+slack {
			t.Fatalf("answered after %s, want about %s", elapsed, readTimeout)
		}
		f.mu.Lock()
		_, pinned := f.pins[never]
		f.mu.Unlock()
		if pinned {
			t.Fatal("pinned although its request's body never arrived")
		}
	})

	t.Run("small body sent whole", func(t *testing.T) {
		c := dialRaw(t, base, "POST", "/pins/"+testCid("whole").String(), "Authorization", auth, "Content-Length", "2")
		c.write("{}")
		resp, _, _ := c.response()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("answer %d, want 200", resp.StatusCode)
		}
	})

	t.Run("add body stalls", func(t *testing.T) {
		body, ct := kuboBody(t)
		b, _ := io.ReadAll(body)
		c := dialRaw(t, base, "POST", "/add", "Authorization", auth, "Content-Type", ct, "Content-Length", itoa(len(b)))
		c.write(string(b[:len(b)/2]))
		resp, body2, elapsed := c.response()
		wantJSONError(t, resp, body2, http.StatusRequestTimeout, "stalled for longer than 300ms")
		if elapsed > readTimeout+slack {
			t.Fatalf("answered after %s", elapsed)
		}
	})

	t.Run("add body slow but steady", func(t *testing.T) {
		body, ct := kuboBody(t)
		b, _ := io.ReadAll(body)
		c := dialRaw(t, base, "POST", "/add", "Authorization", auth, "Content-Type", ct, "Content-Length", itoa(len(b)))
		// The whole body takes several read_timeouts to arrive; no gap comes near one.
		chunk := len(b)/8 + 1
		tick := time.NewTicker(readTimeout / 4)
		defer tick.Stop()
		for off := 0; off < len(b); off += chunk {
			<-tick.C
			c.write(string(b[off:min(off+chunk, len(b))]))
		}
		resp, out, elapsed := c.response()
		if resp.StatusCode != http.StatusOK || strings.Contains(out, "stalled") || resp.Trailer.Get(streamErrorTrailer) != "" {
			t.Fatalf("answer %d %q (trailer %q) after %s", resp.StatusCode, out, resp.Trailer.Get(streamErrorTrailer), elapsed)
		}
		if elapsed < readTimeout {
			t.Fatalf("the body took %s, not longer than read_timeout: the test proves nothing", elapsed)
		}
	})
	_ = f
}

// Credentials and permissions are checked before any body is read: a request that fails them
// is answered at once, however slowly or largely its body comes, and the connection is closed
// rather than drained. read_timeout is left at its default (30s), far beyond the bound here.
func TestAuthBeforeBody(t *testing.T) {
	s, f := newTestServer(t, func(c *Config) {
		c.BasicAuthCredentials = map[string]string{"alice": "secret", "bob": "bobpw"}
		c.BasicAuthPermissions = map[string][]string{"bob": {"read"}}
	})
	base := startServer(t, s)
	pin := "/pins/" + testCid("auth").String()
	tests := []struct {
		name, method, target string
		hdr                  []string
		status               int
	}{
		{"no credentials, chunked add", "POST", "/add", []string{"Transfer-Encoding", "chunked", "Content-Type", "multipart/form-data; boundary=x"}, 401},
		{"no credentials, token", "POST", "/token", []string{"Content-Length", "100000"}, 401},
		{"wrong password, pin", "POST", pin, []string{"Authorization", basic("alice", "nope"), "Content-Length", "200000"}, 401},
		{"bad token, add", "POST", "/add", []string{"Authorization", "Bearer x.y.z", "Transfer-Encoding", "chunked"}, 401},
		{"read-only user, add", "POST", "/add", []string{"Authorization", basic("bob", "bobpw"), "Transfer-Encoding", "chunked"}, 403},
		{"no credentials, 10 GB body", "POST", "/add", []string{"Content-Length", "10737418240"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, base, tt.method, tt.target, tt.hdr...)
			body := strings.Repeat("y", 1000)
			if strings.Contains(strings.Join(tt.hdr, " "), "chunked") {
				body = strings.Repeat("1\r\ny\r\n", 200) // well-formed chunks, one byte each
			}
			c.trickle(body, 10*time.Millisecond)
			resp, body, elapsed := c.response()
			wantJSONError(t, resp, body, tt.status, "")
			if elapsed > 5*time.Second {
				t.Fatalf("answered after %s", elapsed)
			}
			if !c.closed() {
				t.Fatal("connection kept open for a body nobody will read")
			}
		})
	}
	if f.called("Add") || f.called("Pin") {
		t.Fatal("a handler ran without authorization")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
