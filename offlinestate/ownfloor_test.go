package offlinestate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/persistence"
)

// exportOf is an export file of n pins named prefix-i.
func exportOf(t *testing.T, prefix string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"pincluster_state":1,"pins":%d}`+"\n", n)
	for i := range n {
		p := api.NewPin(testCid(t, fmt.Sprint(prefix, i)), api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
		js, err := api.MarshalPin(&p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(js)
		b.WriteByte('\n')
	}
	return b.String()
}

// lastSeq opens dir's store as the daemon does and returns its next own op number - 1 and
// its version vector entry.
func lastSeq(t *testing.T, dir string) (last, applied uint64) {
	t.Helper()
	ident, err := identity.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := persistence.Open(persistence.Options{Dir: PinsetDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := ApplyOwnFloor(dir, s, ident.ID); err != nil {
		t.Fatal(err)
	}
	last, _ = s.LastSeq(ident.ID)
	applied, _ = s.Applied(ident.ID)
	return last, applied
}

// After `state cleanup`, an import and the daemon number their ops after the peer's old ones
// (the other peers hold those seqs and would drop new ops under them), and so does a state
// moved back from an older backup.
func TestOwnNumberingSurvivesCleanupAndRestores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	initDir(t, dir)
	if err := Import(ctx, dir, strings.NewReader(exportOf(t, "a", 5)), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if last, _ := lastSeq(t, dir); last != 5 {
		t.Fatalf("first import: last seq %d, want 5", last)
	}
	first, err := Cleanup(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Import(ctx, dir, strings.NewReader(exportOf(t, "b", 2)), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if last, applied := lastSeq(t, dir); last != 7 || applied != 0 {
		t.Fatalf("import after cleanup: last seq %d (want 7: numbered after the 5 old ops), version vector %d (want 0: the old ops are to pull back)", last, applied)
	}
	// Restore the first backup by hand, as docs/deploy.md says: cleanup, then mv.
	if _, err := Cleanup(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(first, PinsetDir(dir)); err != nil {
		t.Fatal(err)
	}
	if last, _ := lastSeq(t, dir); last != 7 {
		t.Fatalf("older backup moved back: last seq %d, want 7", last)
	}
	// Another identity ignores the floor.
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := ident.Save(dir); err != nil {
		t.Fatal(err)
	}
	if last, _ := lastSeq(t, dir); last != 0 {
		t.Fatalf("a new identity: last seq %d, want 0", last)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, OwnFloorFile)); !strings.HasSuffix(string(b), " 7\n") {
		t.Fatalf("%s: %q", OwnFloorFile, b)
	}
}
