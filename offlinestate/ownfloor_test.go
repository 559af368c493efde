package offlinestate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

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
	withStore(t, dir, func(s *persistence.Store) {
		last, _ = s.LastSeq(ident.ID)
		applied, _ = s.Applied(ident.ID)
	})
	return last, applied
}

// After `state cleanup`, an import and the daemon number their ops after the peer's old ones
// (the other peers hold those seqs and would drop new ops under them), and so does a state
// moved back from an older backup.
func TestOwnNumberingSurvivesCleanupAndRestores(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	importN(t, dir, "a", 5)
	if last, _ := lastSeq(t, dir); last != 5 {
		t.Fatalf("first import: last seq %d, want 5", last)
	}
	touchMember(t, dir, otherMember)
	first, err := Cleanup(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	importN(t, dir, "b", 2)
	if last, applied := lastSeq(t, dir); last != 7 || applied != 0 {
		t.Fatalf("import after cleanup: last seq %d (want 7: numbered after the 5 old ops), version vector %d (want 0: the old ops are to pull back)", last, applied)
	}
	// Restore the first backup by hand, as docs/deploy.md says: cleanup, then mv.
	cleanup(t, dir)
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

// touchMember records id as a member of dir's cluster, as the daemon does when it hears from it.
func touchMember(t *testing.T, dir, id string) {
	t.Helper()
	p, err := libp2ppeer.Decode(id)
	if err != nil {
		t.Fatal(err)
	}
	withStore(t, dir, func(s *persistence.Store) {
		if err := s.TouchMember(p, time.Now()); err != nil {
			t.Fatal(err)
		}
	})
}

// A peer that never had another member (a cluster of one) keeps no floor: nobody holds its
// old ops, and a floor nobody fills would keep its version vector below it for good. A floor
// already written stays while the store still waits for the ops under it.
func TestNoFloorWithoutOtherMembers(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	importN(t, dir, "a", 5)
	cleanup(t, dir)
	if _, err := os.Stat(filepath.Join(dir, OwnFloorFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a cluster of one wrote %s (err %v)", OwnFloorFile, err)
	}
	importN(t, dir, "b", 2)
	if last, applied := lastSeq(t, dir); last != 2 || applied != 2 {
		t.Fatalf("after cleanup: last seq %d, version vector %d, want 2 and 2", last, applied)
	}
	// A member's peer removed (peers rm) does not count either.
	removed, _ := libp2ppeer.Decode(otherMember)
	touchMember(t, dir, removed.String())
	s, err := persistence.Open(persistence.Options{Dir: PinsetDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveMember(removed, 0); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cleanup(t, dir)
	if _, err := os.Stat(filepath.Join(dir, OwnFloorFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a removed member counted: %s written (err %v)", OwnFloorFile, err)
	}
}

// A floor already written stays while the store waits for the ops under it (a cleanup, then
// a cleanup again before the daemon pulled them back).
func TestFloorKeptWhileTheGapIsOpen(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	importN(t, dir, "a", 5)
	touchMember(t, dir, otherMember)
	for range 2 {
		cleanup(t, dir)
		importN(t, dir, "b", 1)
	}
	if last, applied := lastSeq(t, dir); last != 7 || applied != 0 {
		t.Fatalf("two cleanups: last seq %d (want 7), version vector %d (want 0)", last, applied)
	}
}

// A floor that cannot be written leaves the state where it is (moved, its next state would
// number under the others' copies); the error says so. Own ops never broadcast are warned of.
func TestCleanupRefusedWhenTheFloorCannotBeWritten(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	importN(t, dir, "a", 3)
	touchMember(t, dir, otherMember)
	block := filepath.Join(dir, OwnFloorFile)
	if err := os.MkdirAll(filepath.Join(block, "x"), 0o700); err != nil { // a directory: the rename fails
		t.Fatal(err)
	}
	var warn strings.Builder
	b, err := Cleanup(dir, &warn)
	if err == nil || b != "" || !strings.Contains(err.Error(), "state left in place") {
		t.Fatalf("cleanup with an unwritable floor: backup %q, err %v", b, err)
	}
	if _, err := os.Stat(PinsetDir(dir)); err != nil {
		t.Fatalf("the state was moved: %v", err)
	}
	if err := os.RemoveAll(block); err != nil {
		t.Fatal(err)
	}
	if _, err := Cleanup(dir, &warn); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warn.String(), "last 3 ops were not broadcast") { // imported offline: never sent
		t.Fatalf("warnings: %q", warn.String())
	}
}

// otherMember is a peer ID recorded as another member of the cluster.
const otherMember = "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK"

// importN imports n pins named prefix-i into dir.
func importN(t *testing.T, dir, prefix string, n int) {
	t.Helper()
	if err := Import(context.Background(), dir, strings.NewReader(exportOf(t, prefix, n)), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
}

func cleanup(t *testing.T, dir string) {
	t.Helper()
	if _, err := Cleanup(dir, nil); err != nil {
		t.Fatal(err)
	}
}

// A trusted writer with followers only records no member (the store records trusted peers),
// but its peerstore names them, and they hold its ops: it keeps a floor. (Review.)
func TestFloorWhenThePeerstoreNamesOthers(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	importN(t, dir, "a", 4)
	if err := os.WriteFile(filepath.Join(dir, peerstoreFile), []byte("/ip4/127.0.0.1/tcp/9096/p2p/"+otherMember+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cleanup(t, dir)
	if b, err := os.ReadFile(filepath.Join(dir, OwnFloorFile)); err != nil || !strings.HasSuffix(string(b), " 4\n") {
		t.Fatalf("%s: %q %v, want the floor 4", OwnFloorFile, b, err)
	}
}
