package embedded

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	ds "github.com/ipfs/go-datastore"
	dsq "github.com/ipfs/go-datastore/query"
	dstest "github.com/ipfs/go-datastore/test"
)

func newTestDS(t *testing.T) *badgerDS {
	t.Helper()
	db, err := openBadger(t.TempDir(), false, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &badgerDS{db: db}
}

// TestDatastoreSuite runs go-datastore's conformance suite (put/get, not-found, query with
// prefix, filters, orders, limits, batches) against the badger adapter.
func TestDatastoreSuite(t *testing.T) {
	dstest.SubtestAll(t, newTestDS(t))
}

func TestDatastoreBasics(t *testing.T) {
	ctx := context.Background()
	d := newTestDS(t)
	k := ds.NewKey("/a/b")
	if _, err := d.Get(ctx, k); !errors.Is(err, ds.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if size, err := d.GetSize(ctx, k); !errors.Is(err, ds.ErrNotFound) || size != -1 {
		t.Fatalf("GetSize missing: %d %v", size, err)
	}
	if err := d.Put(ctx, k, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"/a/bc", "/ab", "/a/b/c", "/z"} {
		if err := d.Put(ctx, ds.NewKey(other), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if has, _ := d.Has(ctx, k); !has {
		t.Fatal("Has = false after Put")
	}
	if size, _ := d.GetSize(ctx, k); size != 5 {
		t.Fatalf("GetSize = %d, want 5", size)
	}
	// Prefix "/a" selects /a/b, /a/bc and /a/b/c but not /ab.
	res, err := d.Query(ctx, dsq.Query{Prefix: "/a", KeysOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := res.Rest()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	if len(keys) != 3 || keys[0] != "/a/b" || keys[1] != "/a/b/c" || keys[2] != "/a/bc" {
		t.Fatalf("query /a = %v", keys)
	}
	if err := d.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if has, _ := d.Has(ctx, k); has {
		t.Fatal("Has = true after Delete")
	}
	if err := d.Delete(ctx, k); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
}
