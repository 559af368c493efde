package identity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/config"
)

// TestSaveLoad: a saved identity loads back the same, its file is private, and a file whose id
// does not match its key is refused.
func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	id, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := id.Save(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, config.IdentityFile)
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("identity file: %v %v", st, err)
	}
	got, err := Load(dir)
	if err != nil || got.ID != id.ID || !got.PrivKey.Equals(id.PrivKey) {
		t.Fatalf("loaded %v, %v; want %v", got.ID, err, id.ID)
	}
	other, _ := New()
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), id.ID.String(), other.ID.String(), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched id: %v", err)
	}
}
