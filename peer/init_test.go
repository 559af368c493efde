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
