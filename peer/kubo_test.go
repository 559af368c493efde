package peer

import (
	"context"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/internal/identity"
)

// A peer configured for a Kubo that is not running fails to start with a clear error.
func TestNewKuboUnreachable(t *testing.T) {
	dir := t.TempDir()
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.IPFS.Backend = "kubo"
	cfg.IPFS.NodeMultiaddress = "/ip4/127.0.0.1/tcp/1" // nothing listens on port 1
	p, err := New(context.Background(), dir, cfg, ident, Options{NoREST: true})
	if err == nil {
		p.Close()
		t.Fatal("New succeeded without a Kubo daemon")
	}
	if !strings.Contains(err.Error(), "is `ipfs daemon` running?") {
		t.Fatalf("err = %v, want the hint to start Kubo", err)
	}
}
