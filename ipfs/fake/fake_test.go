package fake

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ipfs/boxo/files"
	gocid "github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPinUnpinAndFaults(t *testing.T) {
	b := New()
	c := rawCid([]byte("x"))
	boom := errors.New("boom")

	b.FailPinTimes(c, 2, boom)
	for i := 0; i < 2; i++ {
		if err := b.Pin(ctx(t), c, api.PinModeRecursive, nil); !errors.Is(err, boom) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := b.Pin(ctx(t), c, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	if !b.Pinned(c) || b.PinCalls(c) != 3 {
		t.Fatalf("pinned=%v calls=%d", b.Pinned(c), b.PinCalls(c))
	}
	if ok, mode, _ := b.IsPinned(ctx(t), c); !ok || mode != api.PinModeRecursive {
		t.Fatal("IsPinned")
	}
	n := 0
	b.PinLs(ctx(t), func(got api.Cid, _ api.PinMode) error {
		if !got.Equals(c.Cid) {
			t.Errorf("pin ls: %s", got)
		}
		n++
		return nil
	})
	if n != 1 {
		t.Fatalf("pin ls count %d", n)
	}

	b.FailUnpin(c, boom)
	if err := b.Unpin(ctx(t), c); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	b.Heal(c)
	if err := b.Unpin(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	if err := b.Unpin(ctx(t), c); !errors.Is(err, ipfs.ErrNotPinned) || b.UnpinCalls(c) != 3 {
		t.Fatalf("%v calls=%d", err, b.UnpinCalls(c))
	}

	b.FailPin(c, boom)
	for i := 0; i < 3; i++ {
		if err := b.Pin(ctx(t), c, api.PinModeDirect, nil); !errors.Is(err, boom) {
			t.Fatal(err)
		}
	}
	b.ClearFaults()
	if err := b.Pin(ctx(t), c, api.PinModeDirect, nil); err != nil {
		t.Fatal(err)
	}
	b.RemovePin(c)
	if b.Pinned(c) {
		t.Fatal("RemovePin")
	}
}

func TestStallReleaseAndCancel(t *testing.T) {
	b := New()
	c := rawCid([]byte("stall"))
	b.StallPin(c)
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Pin(cctx, c, api.PinModeRecursive, nil) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stalled pin ignored cancellation")
	}
	go func() { done <- b.Pin(ctx(t), c, api.PinModeRecursive, nil) }()
	b.Release(c)
	select {
	case err := <-done:
		if err != nil || !b.Pinned(c) {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("release did not unblock")
	}
}

func TestSlowPinReportsProgress(t *testing.T) {
	b := New()
	c := rawCid([]byte("slow"))
	b.SlowPin(c, 5, time.Millisecond)
	var got []uint64
	if err := b.Pin(ctx(t), c, api.PinModeRecursive, func(n uint64) { got = append(got, n) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[4] != 5 {
		t.Fatalf("progress %v", got)
	}
}

func TestAdd(t *testing.T) {
	b := New()
	one := files.NewMapDirectory(map[string]files.Node{"a.txt": files.NewBytesFile([]byte("hello"))})
	var out []api.AddedOutput
	root, err := b.Add(ctx(t), one, api.DefaultAddParams(), func(o api.AddedOutput) { out = append(out, o) })
	if err != nil {
		t.Fatal(err)
	}
	if !root.Equals(rawCid([]byte("hello")).Cid) || !b.HasBlock(root) || len(out) != 1 || out[0].Name != "a.txt" {
		t.Fatalf("root %s out %+v", root, out)
	}
	params := api.DefaultAddParams()
	params.WrapWithDirectory = true
	wrapped, err := b.Add(ctx(t), files.NewMapDirectory(map[string]files.Node{"a.txt": files.NewBytesFile([]byte("hello"))}), params, nil)
	if err != nil || wrapped.Equals(root.Cid) || !b.HasBlock(wrapped) {
		t.Fatalf("wrapped %s %v", wrapped, err)
	}
	tree := files.NewMapDirectory(map[string]files.Node{
		"d": files.NewMapDirectory(map[string]files.Node{"x": files.NewBytesFile([]byte("1")), "y": files.NewBytesFile([]byte("2"))}),
	})
	out = nil
	dirRoot, err := b.Add(ctx(t), tree, api.DefaultAddParams(), func(o api.AddedOutput) { out = append(out, o) })
	if err != nil || len(out) != 3 || out[2].Name != "d" || !out[2].Cid.Equals(dirRoot.Cid) {
		t.Fatalf("dir %s %+v %v", dirRoot, out, err)
	}
	if _, err := b.Add(ctx(t), files.NewMapDirectory(nil), api.DefaultAddParams(), nil); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("empty add: %v", err)
	}
	// An empty directory is content (Backend contract); input that cannot be read is ErrInvalid.
	emptyDir := files.NewMapDirectory(map[string]files.Node{"d": files.NewMapDirectory(nil)})
	if c, err := b.Add(ctx(t), emptyDir, api.DefaultAddParams(), nil); err != nil || !b.HasBlock(c) {
		t.Fatalf("empty directory: %s %v", c, err)
	}
	broken := files.NewMapDirectory(map[string]files.Node{"f": files.NewReaderFile(iotest.ErrReader(errors.New("cut off")))})
	if _, err := b.Add(ctx(t), broken, api.DefaultAddParams(), nil); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("unreadable file: %v", err)
	}
}

func carBytes(t testing.TB, roots []gocid.Cid, blocks map[gocid.Cid][]byte) []byte {
	var buf bytes.Buffer
	w, err := storage.NewWritable(&buf, roots, carv2.WriteAsCarV1(true))
	if err != nil {
		t.Fatal(err)
	}
	for c, d := range blocks {
		if err := w.Put(context.Background(), c.KeyString(), d); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestImportCAR(t *testing.T) {
	b := New()
	r1, r2 := rawCid([]byte("r1")), rawCid([]byte("r2"))
	good := carBytes(t, []gocid.Cid{r1.Cid}, map[gocid.Cid][]byte{r1.Cid: []byte("r1")})
	root, err := b.ImportCAR(ctx(t), bytes.NewReader(good))
	if err != nil || !root.Equals(r1.Cid) || !b.HasBlock(r1) {
		t.Fatalf("import: %s %v", root, err)
	}
	two := carBytes(t, []gocid.Cid{r1.Cid, r2.Cid}, map[gocid.Cid][]byte{r2.Cid: []byte("r2")})
	if _, err := b.ImportCAR(ctx(t), bytes.NewReader(two)); !errors.Is(err, ipfs.ErrBadCAR) || !strings.Contains(err.Error(), "2 roots") {
		t.Fatalf("two roots: %v", err)
	}
	if b.HasBlock(r2) {
		t.Fatal("a rejected CAR stored blocks")
	}
	noRoot := carBytes(t, []gocid.Cid{r1.Cid}, map[gocid.Cid][]byte{r2.Cid: []byte("r2")})
	if _, err := b.ImportCAR(ctx(t), bytes.NewReader(noRoot)); !errors.Is(err, ipfs.ErrBadCAR) || !strings.Contains(err.Error(), "is not in the CAR") || b.HasBlock(r2) {
		t.Fatalf("root block absent: %v (stored: %v)", err, b.HasBlock(r2))
	}
	for _, bad := range [][]byte{nil, []byte("garbage"), good[:len(good)-1]} {
		if _, err := b.ImportCAR(ctx(t), bytes.NewReader(bad)); !errors.Is(err, ipfs.ErrBadCAR) {
			t.Fatalf("bad CAR %q: %v", bad, err)
		}
	}
}

func TestClosed(t *testing.T) {
	b := New()
	b.Close()
	if err := b.Pin(ctx(t), rawCid(nil), api.PinModeRecursive, nil); !errors.Is(err, ipfs.ErrClosed) {
		t.Fatal(err)
	}
	if _, err := b.RepoStat(ctx(t)); !errors.Is(err, ipfs.ErrClosed) {
		t.Fatal(err)
	}
}

func FuzzImportCAR(f *testing.F) {
	r := rawCid([]byte("r"))
	f.Add(carBytes(f, []gocid.Cid{r.Cid}, map[gocid.Cid][]byte{r.Cid: []byte("r")}))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := New()
		root, err := b.ImportCAR(context.Background(), bytes.NewReader(data))
		if err != nil && !errors.Is(err, ipfs.ErrBadCAR) {
			t.Fatalf("error not wrapping ErrBadCAR: %v", err)
		}
		if err == nil && !root.Defined() {
			t.Fatal("no root")
		}
	})
}

func TestResolve(t *testing.T) {
	b := New()
	c := rawCid([]byte("x"))
	tests := []struct {
		path    string
		wantErr error
	}{
		{c.String(), nil},
		{"/ipfs/" + c.String(), nil},
		{"/ipfs/" + c.String() + "/", nil},
		{"/ipld/" + c.String(), nil},
		{"/ipfs/" + c.String() + "/a/b", api.ErrNotFound},
		{"/ipns/example.com", api.ErrNotFound},
		{"/ipfs/notacid", api.ErrInvalid},
		{"/foo/" + c.String(), api.ErrInvalid},
		{"", api.ErrInvalid},
	}
	for _, tt := range tests {
		got, err := b.Resolve(ctx(t), tt.path)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Resolve(%q) = %v, %v; want %v", tt.path, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !got.Equals(c.Cid) {
			t.Errorf("Resolve(%q) = %v, %v; want %s", tt.path, got, err, c)
		}
	}
}
