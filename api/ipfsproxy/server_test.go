package ipfsproxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	manet "github.com/multiformats/go-multiaddr/net"
)

func TestServerStartShutdown(t *testing.T) {
	e := newEnv(t)
	accepted := make(chan string, 16) // remote addresses of the connections the server took
	tracked := e.srv.srv.ConnState    // httpserve's: it keeps the connections with no request yet
	e.srv.srv.ConnState = func(c net.Conn, st http.ConnState) {
		tracked(c, st)
		if st == http.StateNew {
			select {
			case accepted <- c.RemoteAddr().String():
			default:
			}
		}
	}
	if err := e.srv.Start(); err != nil {
		t.Fatal(err)
	}
	_, hostport, err := manet.DialArgs(e.srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+hostport+"/api/v0/pin/add?arg="+cidOf("a").String(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), cidOf("a").String()) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// An idle connection that never sent a request does not hold the stop.
	c, err := net.Dial("tcp", hostport)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for wait := time.After(10 * time.Second); ; { // the server has accepted it and tracks it
		select {
		case a := <-accepted:
			if a != c.LocalAddr().String() {
				continue
			}
		case <-wait:
			t.Fatal("the server did not accept the idle connection")
		}
		break
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("shutdown took %s", d)
	}
	if err := e.srv.Start(); err == nil {
		t.Fatal("started twice")
	}
}

func TestServerBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e := newEnv(t)
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ln.Addr().(*net.TCPAddr).Port)
	srv, err := New(cfg, Deps{Pins: e.pins, Add: e.adder, Health: e.health, Node: e.node}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "api.ipfsproxy.listen_multiaddress") {
		t.Fatalf("busy port: %v", err)
	}
	if _, err := New(cfg, Deps{}, nil); err == nil {
		t.Fatal("incomplete deps accepted")
	}
}
