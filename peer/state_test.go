package peer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/offlinestate"
)

// TestStateExportCleanupImport follows the disaster-recovery procedure of the upgrade docs:
// export, clean up (a backup is kept), import, and the peer starts with the same pinset.
func TestStateExportCleanupImport(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, InitOptions{RandomPorts: true}); err != nil {
		t.Fatal(err)
	}
	backend := fake.New()
	p := startTestPeer(t, dir, backend)
	ctx := context.Background()
	var want []string
	for _, s := range []string{"a", "b", "c"} {
		c := testCid(t, s)
		if _, err := p.Pin(ctx, c, api.PinOptions{Name: s}); err != nil {
			t.Fatal(err)
		}
		want = append(want, c.String())
	}
	// The in-process peer holds Badger's lock (a daemon also holds the config dir's lock).
	if err := offlinestate.Export(ctx, dir, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "nother") {
		t.Fatalf("export while the daemon runs: %v", err)
	}
	p.Close()

	var exp bytes.Buffer
	if err := offlinestate.Export(ctx, dir, &exp); err != nil {
		t.Fatal(err)
	}
	backup, err := offlinestate.Cleanup(dir, nil)
	if err != nil || backup == "" {
		t.Fatalf("cleanup: %q %v", backup, err)
	}
	if _, err := os.Stat(filepath.Join(backup)); err != nil {
		t.Fatalf("backup missing: %v", err)
	}
	if err := offlinestate.Import(ctx, dir, strings.NewReader("garbage\n"), offlinestate.ImportOptions{}, nil); err == nil {
		t.Fatal("a garbage import succeeded")
	}
	if err := offlinestate.Import(ctx, dir, bytes.NewReader(exp.Bytes()), offlinestate.ImportOptions{ReplicationMin: 1, ReplicationMax: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := offlinestate.Upgrade(dir, nil); err != nil {
		t.Fatal(err)
	}
	p2 := startTestPeer(t, dir, backend)
	defer p2.Close()
	for _, c := range want {
		cid, _ := api.DecodeCid(c)
		pin, err := p2.PinGet(ctx, cid)
		if err != nil {
			t.Fatalf("%s lost in export/import: %v", c, err)
		}
		if pin.ReplicationFactorMin != 1 {
			t.Fatalf("import option not applied: %+v", pin)
		}
	}
}
