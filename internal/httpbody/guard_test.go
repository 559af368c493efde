package httpbody

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
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

// A streamed body that stalls longer than Timeout is a 408 saying so.
func TestStreamedBodyThatStallsIs408(t *testing.T) {
	g := Guard{Timeout: 200 * time.Millisecond, Key: "x.read_timeout", Streamed: func(*http.Request) bool { return true }}
	srv := httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), Status(err))
			return
		}
		w.WriteHeader(http.StatusOK)
	})))
	defer srv.Close()
	resp := rawRequest(t, srv.URL, "POST", "/")
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "stalled for longer than 200ms (x.read_timeout)") {
		t.Fatalf("got %d %q, want 408 saying the body stalled", resp.StatusCode, b)
	}
}

// After an error answered before the body was read, the server reads no more of it: the
// connection ends at once, not after net/http's drain of up to 256 KiB (which a client
// trickling its body stretches as it likes).
func TestEarlyErrorEndsTheConnection(t *testing.T) {
	g := Guard{Timeout: time.Minute, Key: "x.read_timeout"}
	srv := httptest.NewServer(g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})))
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial")
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// Keep sending body bytes, as a trickling client does: the server must close anyway.
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		if _, err := conn.Write([]byte("more body bytes ")); err != nil {
			return // closed by the server
		}
		if _, err := br.ReadByte(); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return // EOF or reset: closed
		}
		_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	}
	t.Fatal("the server kept reading the body of a request it had refused")
}
