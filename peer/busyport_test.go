package peer

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/ipfs/fake"
)

// TestBusyRESTPortIsAnError: when the REST port is taken, New fails with "address already in
// use" and cleans up; the loops it had started must not run on a nil peer (they used to panic).
func TestBusyRESTPortIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.API.RestAPI.ListenMultiaddress = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ln.Addr().(*net.TCPAddr).Port)
	for range 3 { // the panic raced with the cleanup: try a few times
		p, err := New(context.Background(), t.TempDir(), cfg, ident, Options{Backend: fake.New()})
		if err == nil {
			p.Close()
			t.Fatal("New succeeded on a busy REST port")
		}
		if !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("err = %v, want 'address already in use'", err)
		}
	}
}
