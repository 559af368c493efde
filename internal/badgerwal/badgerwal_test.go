package badgerwal

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// A Badger folder with a zero-byte memtable log (a kill between its creation and its
// sizing) does not open; once the empty log is dropped it opens with every write kept.
func TestEmptyMemtableLogAfterACrash(t *testing.T) {
	dir := t.TempDir()
	opts := badger.DefaultOptions(dir).WithLogger(nil)
	db, err := badger.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00099.mem"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00098.mem.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Badger's own behaviour, which the repair is for: the open fails (and sizes the file, so
	// a second open would pass; the daemon has said by then that its store is damaged).
	if db, err := badger.Open(opts); err == nil {
		db.Close()
		t.Skip("this Badger opens a folder with an empty memtable log: the repair is not needed")
	}
	if err := os.Truncate(filepath.Join(dir, "00099.mem"), 0); err != nil { // the crash's state again
		t.Fatal(err)
	}
	dropped, err := DropEmptyMemtables(dir)
	if err != nil || !slices.Equal(dropped, []string{"00099.mem"}) {
		t.Fatalf("dropped %v, %v; want the one empty .mem", dropped, err)
	}
	db, err = badger.Open(opts)
	if err != nil {
		t.Fatalf("open after the repair: %v", err)
	}
	defer db.Close()
	err = db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte("k"))
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			if string(v) != "v" {
				t.Fatalf("value %q", v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DropEmptyMemtables(filepath.Join(dir, "missing")); err != nil {
		t.Fatalf("missing folder: %v", err)
	}
}
