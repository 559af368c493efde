package rest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

func startServer(t *testing.T, s *Server) string {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	_, hostport, err := manet.DialArgs(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + hostport
}

func TestStartPortZeroAndServe(t *testing.T) {
	s, _ := newTestServer(t, nil)
	if s.Addr() != nil {
		t.Fatalf("Addr before Start = %v, want nil", s.Addr())
	}
	base := startServer(t, s)
	port, err := s.Addr().ValueForProtocol(ma.P_TCP)
	if err != nil || port == "0" {
		t.Fatalf("Addr() = %v: port %q, %v", s.Addr(), port, err)
	}
	resp, err := http.Get(base + "/id")
	if err != nil {
		t.Fatal(err)
	}
	id := decode[map[string]any](t, resp, http.StatusOK)
	if id["peername"] != "fake" {
		t.Fatalf("GET /id = %v", id)
	}
	if err := s.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
}

func TestStartBusyPort(t *testing.T) {
	first, _ := newTestServer(t, nil)
	startServer(t, first)
	s, _ := newTestServer(t, func(c *Config) { c.ListenMultiaddress = first.Addr().String() })
	err := s.Start()
	want := fmt.Sprintf("restapi: cannot listen on %s: address already in use (is another daemon running? set api.restapi.listen_multiaddress)", first.Addr())
	if err == nil || err.Error() != want {
		t.Fatalf("Start on a busy port = %v, want %q", err, want)
	}
	// Shutdown of a server that never started is harmless.
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownStopsServing(t *testing.T) {
	s, _ := newTestServer(t, nil)
	base := startServer(t, s)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 2 * time.Second}
	if _, err := c.Get(base + "/health"); err == nil {
		t.Fatal("server still answers after Shutdown")
	}
}

func TestNewServerRejectsBadConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/udp/1"
	_, err := NewServer(cfg, newFake(t).services(), nil)
	if err == nil || !strings.Contains(err.Error(), "api.restapi.listen_multiaddress") {
		t.Fatalf("NewServer = %v", err)
	}
	f := newFake(t).services()
	f.Health = nil
	if _, err := NewServer(DefaultConfig(), f, nil); err == nil {
		t.Fatal("NewServer without a health service succeeded")
	}
}
