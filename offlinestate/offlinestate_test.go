package offlinestate

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	gocid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/persistence"
)

// initDir writes what init writes: service.json and identity.json.
func initDir(t *testing.T, dir string) {
	t.Helper()
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := servicejson.Default().Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := ident.Save(dir); err != nil {
		t.Fatal(err)
	}
}

func testCid(t *testing.T, s string) api.Cid {
	t.Helper()
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

// `state import` refuses a file holding a pin over api's name or metadata limits, naming the
// line, and leaves the pinset as it was (no pin replaced, none unpinned as stale).
func TestStateImportRefusesPinsOverTheLimits(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	ctx := context.Background()
	pinLine := func(s, name string) string {
		return fmt.Sprintf(`{"cid":%q,"name":%q,"replication_factor_min":-1,"replication_factor_max":-1}`, testCid(t, s).String(), name)
	}
	good := `{"pincluster_state":1}` + "\n" + pinLine("a", "a") + "\n" + pinLine("b", "b") + "\n"
	if err := Import(ctx, dir, strings.NewReader(good), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	pins := func() string {
		var buf bytes.Buffer
		if err := Export(ctx, dir, &buf); err != nil {
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
	err := Import(ctx, dir, strings.NewReader(bad), ImportOptions{}, nil)
	if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "pin name is 256 bytes") {
		t.Fatalf("import of a 256-byte name: %v; want ErrInvalid naming line 3 and the limit", err)
	}
	if after := pins(); after != before {
		t.Fatalf("a refused import changed the pinset:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A store written before the name and metadata indexes gets them from `state upgrade`; a
// second upgrade has nothing to do.
func TestUpgradeBuildsIndexes(t *testing.T) {
	dir := initStore(t)
	// What a store of an earlier version looks like: no m/indexed mark.
	rawStore(t, dir, func(db *badger.DB) error {
		return db.Update(func(txn *badger.Txn) error { return txn.Delete([]byte("m/indexed")) })
	})
	var out bytes.Buffer
	if err := Upgrade(dir, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "built the name and metadata indexes") {
		t.Fatalf("first upgrade: %q", out.String())
	}
	out.Reset()
	if err := Upgrade(dir, &out); err != nil || strings.Contains(out.String(), "built") {
		t.Fatalf("second upgrade: %q, %v", out.String(), err)
	}
}

// TestUpgradePrintsTheStoreFormat: `state upgrade` (and `daemon --upgrade`) prints the format
// the store holds on disk once opened, and the README and docs/deploy.md quote that number
// (QA: the upgrade printed version 1, the README said format 3, the store wrote 4).
func TestUpgradePrintsTheStoreFormat(t *testing.T) {
	dir := initStore(t)
	// A store of the previous format, which opening marks current.
	setFormat := func(txn *badger.Txn) error { return txn.Set([]byte("m/format"), binary.BigEndian.AppendUint64(nil, 3)) }
	rawStore(t, dir, func(db *badger.DB) error { return db.Update(setFormat) })
	var out bytes.Buffer
	if err := Upgrade(dir, &out); err != nil {
		t.Fatal(err)
	}
	var onDisk uint64
	rawStore(t, dir, func(db *badger.DB) error {
		return db.View(func(txn *badger.Txn) error {
			item, err := txn.Get([]byte("m/format"))
			if err != nil {
				return err
			}
			return item.Value(func(v []byte) error { onDisk = binary.BigEndian.Uint64(v); return nil })
		})
	})
	if want := fmt.Sprintf("state format is current (format %d, 0 pins)\n", onDisk); out.String() != want || onDisk != Version {
		t.Fatalf("upgrade printed %q; the store holds format %d, Version is %d", out.String(), onDisk, Version)
	}
	for _, doc := range []string{"../README.md", "../docs/deploy.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		quoted := regexp.MustCompile(`(?:state\s+format\s+is\s+current\s+\(format|writes the pinset\s+store\s+in\s+format)\s+(\d+)`).FindAllSubmatch(b, -1)
		if len(quoted) == 0 {
			t.Errorf("%s no longer quotes the store format: update this test", doc)
		}
		for _, m := range quoted {
			if string(m[1]) != fmt.Sprint(Version) {
				t.Errorf("%s says %q; the store's format is %d", doc, m[0], Version)
			}
		}
	}
}

// rawStore runs f on dir's pinset store opened as a bare Badger database.
// initStore is a peer directory, initialised, whose pinset store was opened once (as a
// daemon leaves it).
func initStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	initDir(t, dir)
	s, err := persistence.Open(persistence.Options{Dir: PinsetDir(dir)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return dir
}

func rawStore(t *testing.T, dir string, f func(*badger.DB) error) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(PinsetDir(dir)).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := f(db); err != nil {
		t.Fatal(err)
	}
}

// Backups made within the same second get names of their own.
func TestBackupsInOneSecond(t *testing.T) {
	dir := t.TempDir()
	var got []string
	for range 3 {
		if err := os.MkdirAll(PinsetDir(dir), 0o700); err != nil {
			t.Fatal(err)
		}
		b, err := Backup(dir, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
		t.Fatalf("backups %v", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "backups")); len(ents) != 3 {
		t.Fatalf("%d backups kept, want 3", len(ents))
	}
}
