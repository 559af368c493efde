package httpbody

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rawRequest sends a request declaring a 100-byte body of which it writes only part, and
// returns the answer read within 10 s.
func rawRequest(t *testing.T, url, method, path string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial", method, path)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestBodyThatNeverArrivesIs408(t *testing.T) {
	g := Guard{Timeout: 200 * time.Millisecond, Key: "x.read_timeout"}
	srv := httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if err == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, err.Error(), Status(err))
	})))
	defer srv.Close()
	resp := rawRequest(t, srv.URL, "POST", "/")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "x.read_timeout") {
		t.Fatalf("got %d %q, want 408 naming the key", resp.StatusCode, b)
	}
	if !resp.Close {
		t.Error("the connection stays open after a body left unread")
	}
}

// An error answered before the body is read goes out at once, and closes the connection
// (net/http would otherwise drain the body first, until the client sends it).
func TestEarlyErrorIsNotHeldByTheBody(t *testing.T) {
	g := Guard{Timeout: time.Minute, Key: "x.read_timeout"}
	srv := httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	})))
	defer srv.Close()
	start := time.Now()
	resp := rawRequest(t, srv.URL, "POST", "/")
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Fatalf("got %d close=%v, want 401 closing the connection", resp.StatusCode, resp.Close)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the 401 took %s: held by the unsent body", d)
	}
}

// A streamed body is bounded per stall: it may take longer than Timeout as a whole.
func TestStreamedBodyIsBoundedPerStall(t *testing.T) {
	g := Guard{Timeout: 300 * time.Millisecond, Key: "x.read_timeout", Streamed: func(r *http.Request) bool { return r.URL.Path == "/stream" }}
	srv := httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), Status(err))
			return
		}
		fmt.Fprint(w, n)
	})))
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		// Six writes 100 ms apart: 600 ms in all, no stall over 300 ms.
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 6; i++ {
			<-tick.C
			if _, err := pw.Write([]byte("0123456789")); err != nil {
				return
			}
		}
		pw.Close()
	}()
	resp, err := http.Post(srv.URL+"/stream", "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != "60" {
		t.Fatalf("got %d %q, want 200 and 60 bytes read", resp.StatusCode, b)
	}
	if Status(&TimeoutError{}) != http.StatusRequestTimeout || Status(io.ErrUnexpectedEOF) != http.StatusBadRequest {
		t.Fatal("Status mapping")
	}
}
