package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs/fake"
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
	if err := StateExport(ctx, dir, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "nother") {
		t.Fatalf("export while the daemon runs: %v", err)
	}
	p.Close()

	var exp bytes.Buffer
	if err := StateExport(ctx, dir, &exp); err != nil {
		t.Fatal(err)
	}
	backup, err := StateCleanup(dir)
	if err != nil || backup == "" {
		t.Fatalf("cleanup: %q %v", backup, err)
	}
	if _, err := os.Stat(filepath.Join(backup)); err != nil {
		t.Fatalf("backup missing: %v", err)
	}
	if err := StateImport(ctx, dir, strings.NewReader("garbage\n"), ImportOptions{}, nil); err == nil {
		t.Fatal("a garbage import succeeded")
	}
	if err := StateImport(ctx, dir, bytes.NewReader(exp.Bytes()), ImportOptions{ReplicationMin: 1, ReplicationMax: 1}, nil); err != nil {
		t.Fatal(err)
	}
	if err := StateUpgrade(dir, nil); err != nil {
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

// `state import` refuses a file holding a pin over api's name or metadata limits, naming the
// line, and leaves the pinset as it was (no pin replaced, none unpinned as stale).
func TestStateImportRefusesPinsOverTheLimits(t *testing.T) {
	dir := t.TempDir()
	if err := Init(dir, InitOptions{RandomPorts: true}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pinLine := func(s, name string) string {
		return fmt.Sprintf(`{"cid":%q,"name":%q,"replication_factor_min":-1,"replication_factor_max":-1}`, testCid(t, s).String(), name)
	}
	good := `{"pincluster_state":1}` + "\n" + pinLine("a", "a") + "\n" + pinLine("b", "b") + "\n"
	if err := StateImport(ctx, dir, strings.NewReader(good), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	pins := func() string {
		var buf bytes.Buffer
		if err := StateExport(ctx, dir, &buf); err != nil {
			t.Fatal(err)
		}
		_, body, _ := strings.Cut(buf.String(), "\n") // the header carries the export time
		return body
	}
	before := pins()
	if strings.Count(before, "\n") != 2 {
		t.Fatalf("pinset before:\n%s", before)
	}

	bad := `{"pincluster_state":1}` + "\n" + pinLine("c", "c") + "\n" + pinLine("d", strings.Repeat("x", api.MaxPinNameBytes+1)) + "\n"
	err := StateImport(ctx, dir, strings.NewReader(bad), ImportOptions{}, nil)
	if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "pin name is 256 bytes") {
		t.Fatalf("import of a 256-byte name: %v; want ErrInvalid naming line 3 and the limit", err)
	}
	if after := pins(); after != before {
		t.Fatalf("a refused import changed the pinset:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
