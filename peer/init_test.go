package peer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/dirlock"
)

// TestInitRefusesADirInUse: init, with or without -f, must not replace the identity and config
// of a running daemon (here: a lock held as RunDaemon holds it).
func TestInitRefusesADirInUse(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	files := []string{config.ConfigFile, config.IdentityFile}
	before := map[string][]byte{}
	for _, f := range files {
		before[f], _ = os.ReadFile(filepath.Join(dir, f))
	}
	lock, err := dirlock.Take(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		err := Init(dir, InitOptions{Force: force})
		if !errors.Is(err, dirlock.ErrLocked) || !strings.Contains(err.Error(), "cannot initialize "+dir+": a pincluster daemon is running on it (pid ") ||
			strings.Contains(err.Error(), "\n") {
			t.Fatalf("init (force=%v) while locked: %v", force, err)
		}
	}
	for _, f := range files {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(b, before[f]) {
			t.Fatalf("%s changed while a daemon held the dir", f)
		}
	}
	lock.Unlock()
	if err := Init(dir, InitOptions{Force: true}); err != nil {
		t.Fatalf("init -f once the daemon stopped: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, config.IdentityFile)); bytes.Equal(b, before[config.IdentityFile]) {
		t.Fatal("init -f kept the old identity")
	}
}

// TestInitRefusesBadPeers: init --peers with an address that is not a multiaddress, or does not
// end in /p2p/<peer ID>, fails with one line naming it and writes nothing (QA: it wrote the
// garbage to the peerstore, which the daemon then skipped with a log line).
func TestInitRefusesBadPeers(t *testing.T) {
	const id = "12D3KooWPBmpjqfQXLZMXMrmyTqUNCBv69eiY1fgfUeakdJdmzU6"
	good := "/ip4/10.0.0.1/tcp/9096/p2p/" + id
	for _, tc := range []struct {
		peers []string
		want  string
	}{
		{[]string{"garbage"}, `--peers "garbage" is not a multiaddress`},
		{[]string{good, "/ip4/10.0.0.2/tcp/9096"}, `--peers "/ip4/10.0.0.2/tcp/9096" does not name its peer: end it with /p2p/<peer ID>`},
		{[]string{"/ip4/10.0.0.2/tcp/9096/p2p/notapeer"}, `--peers "/ip4/10.0.0.2/tcp/9096/p2p/notapeer" is not a multiaddress`},
		{[]string{"/dns4/cluster.example/tcp/9096/ipfs"}, `--peers "/dns4/cluster.example/tcp/9096/ipfs" is not a multiaddress`},
	} {
		dir := filepath.Join(t.TempDir(), "peer")
		err := Init(dir, InitOptions{Peers: tc.peers})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want one line starting %q", tc.peers, err, tc.want)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q: init left %s behind (%v)", tc.peers, dir, err)
		}
	}

	// Good addresses are written trimmed, without the blank entry of a stray comma.
	dir := t.TempDir()
	if err := Init(dir, InitOptions{Peers: []string{good, " " + good + " ", ""}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, PeerstoreFile)); string(b) != good+"\n"+good+"\n" {
		t.Fatalf("peerstore: %q", b)
	}
}

// An init refused for a bad value from the environment leaves no directory behind (it left one
// holding an empty lock file: QA); one it did not create stays.
func TestInitRefusedLeavesNothing(t *testing.T) {
	t.Setenv("CLUSTER_SECRET", "zz")
	dir := filepath.Join(t.TempDir(), "peer")
	if err := Init(dir, InitOptions{}); err == nil || !strings.Contains(err.Error(), "CLUSTER_SECRET") {
		t.Fatalf("init with a bad secret: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("init left %s behind (%v)", dir, err)
	}
	existing := t.TempDir()
	if err := Init(existing, InitOptions{}); err == nil {
		t.Fatal("init with a bad secret succeeded")
	}
	if _, err := os.Stat(existing); err != nil {
		t.Fatalf("a directory that existed before was removed: %v", err)
	}
}

// A failed init never removes what it did not create: a path naming an existing directory
// through ".." (review: RemoveAll took the current directory's files), or a directory holding
// anything else.
func TestInitFailureKeepsWhatItDidNotCreate(t *testing.T) {
	t.Setenv("CLUSTER_SECRET", "zz")
	parent := t.TempDir()
	keep := filepath.Join(parent, "precious")
	if err := os.WriteFile(keep, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Init(filepath.Join(parent, "new")+"/..", InitOptions{}); err == nil {
		t.Fatal("init with a bad secret succeeded")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("a failed init removed a file it did not create: %v", err)
	}
}
