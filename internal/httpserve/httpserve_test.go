package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/pincluster/pincluster/internal/poll"
)

func newServer() *Server {
	return New("testapi", "api.testapi", "another daemon", &http.Server{Handler: http.NotFoundHandler()}, nil)
}

// A client's spare connection that never sent a request must not hold up a stop: net/http
// counts it busy for its first 5 s, which made a daemon's SIGTERM end in a shutdown timeout.
func TestShutdownClosesConnectionsWithoutRequest(t *testing.T) {
	s := newServer()
	if err := s.Start("/ip4/127.0.0.1/tcp/0"); err != nil {
		t.Fatal(err)
	}
	_, hostport, err := manet.DialArgs(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	seen := poll.Until(2*time.Second, time.Millisecond, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.fresh) == 1
	})
	if !seen {
		t.Fatal("the server never saw the connection")
	}
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	// Well inside net/http's 5 s grace for new connections: the server closes it itself.
	conn.SetReadDeadline(time.Now().Add(4 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read on a request-less connection during shutdown = %v, want it closed by the server", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A busy port is one line naming the config key; a second Start and a Shutdown of a server
// that never started are harmless errors or no-ops.
func TestStartErrors(t *testing.T) {
	first := newServer()
	if err := first.Start("/ip4/127.0.0.1/tcp/0"); err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown(context.Background())
	if err := first.Start("/ip4/127.0.0.1/tcp/0"); err == nil {
		t.Fatal("second Start succeeded")
	}
	s := newServer()
	err := s.Start(first.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "address already in use (is another daemon running? set api.testapi.listen_multiaddress)") {
		t.Fatalf("busy port: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := newServer().Start("not a multiaddr"); err == nil || !strings.Contains(err.Error(), "api.testapi.listen_multiaddress") {
		t.Fatalf("bad address: %v", err)
	}
}
