package embedded

import (
	"context"
	"errors"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/persistence"
)

// With less free space than the reserve, the node refuses to store blocks and pins with an
// insufficient-storage error (a Badger write on a full disk would kill the process), keeps
// serving what it has, and GC can still delete to free space.
func TestLowFreeSpaceRefusesWritesNotReadsOrGC(t *testing.T) {
	dir := t.TempDir()
	n, err := New(context.Background(), Config{Dir: dir, AddGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(70, 5_000)
	loose, _ := addBytes(t, n, data, params(nil))
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n, err = New(context.Background(), Config{Dir: dir, AddGrace: -1, MinFreeSpace: 1 << 62}) // more than any disk has
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx := testCtx(t)
	if _, err := n.Add(ctx, fileDir("f", randBytes(71, 5_000)), params(nil), nil); !errors.Is(err, api.ErrInsufficientStorage) {
		t.Fatalf("add on a nearly full disk: %v", err)
	}
	if err := n.Pin(ctx, loose, api.PinModeRecursive, nil); !errors.Is(err, api.ErrInsufficientStorage) {
		t.Fatalf("pin on a nearly full disk: %v", err)
	}
	if got := readBack(t, n, loose.Cid); string(got) != string(data) {
		t.Fatal("reads fail on a nearly full disk")
	}
	removed, err := n.GC(ctx)
	if err != nil || !wasRemoved(removed, loose) {
		t.Fatalf("GC on a nearly full disk: removed %v, %v", removed, err)
	}
	// The freespace metric leaves the reserve out: the allocator must not choose this peer.
	if st, err := n.RepoStat(ctx); err != nil || st.FreeSpace != 0 {
		t.Fatalf("RepoStat under the reserve: %+v, %v; want FreeSpace 0", st, err)
	}
}

// The node's reserve is the pinset store's: docs/deploy.md ("Disk space") gives one figure for
// both, which the persistence tests check against the docs.
func TestReserveIsThePinsetStores(t *testing.T) {
	if DefaultMinFreeSpace != persistence.DefaultMinFreeSpace {
		t.Fatalf("the embedded node keeps %d bytes in reserve, the pinset store %d: docs/deploy.md gives one figure for both",
			DefaultMinFreeSpace, persistence.DefaultMinFreeSpace)
	}
}
