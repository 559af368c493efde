package kubo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/cartest"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/embedded"
)

// These tests run the behaviours of ipfs/embedded's tests against a real Kubo.

func embeddedNode(t *testing.T) *embedded.Node {
	t.Helper()
	n, err := embedded.New(context.Background(), embedded.Config{Dir: t.TempDir(), AddGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func randBytes(seed uint64, size int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, size)
	rand.NewChaCha8(key).Read(b)
	return b
}

func fileDir(name string, data []byte) files.Directory {
	return files.NewSliceDirectory([]files.DirEntry{files.FileEntry(name, files.NewBytesFile(data))})
}

// tree is a directory with nested, hidden and many-entry (HAMT-sharded) subdirectories.
func tree(bigEntries int) files.Directory {
	var big []files.DirEntry
	for i := range bigEntries {
		big = append(big, files.FileEntry(fmt.Sprintf("f%04d", i), files.NewBytesFile([]byte(fmt.Sprint(i)))))
	}
	return files.NewSliceDirectory([]files.DirEntry{
		files.FileEntry("dir", files.NewSliceDirectory([]files.DirEntry{
			files.FileEntry(".hidden", files.NewBytesFile([]byte("secret"))),
			files.FileEntry("a.txt", files.NewBytesFile([]byte("a"))),
			files.FileEntry("big", files.NewSliceDirectory(big)),
			files.FileEntry("empty", files.NewSliceDirectory(nil)),
			files.FileEntry("sub", files.NewSliceDirectory([]files.DirEntry{
				files.FileEntry("b.txt", files.NewBytesFile(randBytes(7, 600_000))),
			})),
		})),
	})
}

type added struct {
	root api.Cid
	outs []string // "name cid size", progress lines left out
}

func addWith(t *testing.T, b ipfs.Backend, dir files.Directory, p api.AddParams) added {
	t.Helper()
	var a added
	var err error
	a.root, err = b.Add(testCtx(t), dir, p, func(o api.AddedOutput) {
		if o.Cid.Defined() {
			a.outs = append(a.outs, fmt.Sprintf("%s %s %d", o.Name, o.Cid, o.Size))
		}
	})
	if err != nil {
		t.Fatalf("%T Add: %v", b, err)
	}
	return a
}

// Kubo and the embedded node produce the same CIDs (and outputs) for the same input and options.
func TestAddMatchesEmbedded(t *testing.T) {
	k := kuboNode(t)
	e := embeddedNode(t)
	data := randBytes(1, 700_000)
	twoFiles := func() files.Directory {
		return files.NewSliceDirectory([]files.DirEntry{
			files.FileEntry("one", files.NewBytesFile([]byte("one"))),
			files.FileEntry("two", files.NewBytesFile([]byte("two"))),
		})
	}
	tests := []struct {
		name  string
		input func() files.Directory
		mod   func(*api.AddParams)
	}{
		{"defaults", func() files.Directory { return fileDir("file", data) }, nil},
		{"hello", func() files.Directory { return fileDir("hello", []byte("hello world\n")) }, nil},
		{"empty file", func() files.Directory { return fileDir("empty", nil) }, nil},
		{"size-1000", func() files.Directory { return fileDir("file", data) }, func(p *api.AddParams) { p.Chunker = "size-1000" }},
		{"rabin", func() files.Directory { return fileDir("file", data) }, func(p *api.AddParams) { p.Chunker = "rabin" }},
		{"rabin-min-avg-max", func() files.Directory { return fileDir("file", data) }, func(p *api.AddParams) { p.Chunker = "rabin-1024-4096-8192" }},
		{"trickle", func() files.Directory { return fileDir("file", data) }, func(p *api.AddParams) { p.Layout = "trickle"; p.Chunker = "size-1000" }},
		{"raw leaves", func() files.Directory { return fileDir("file", data) }, func(p *api.AddParams) { p.RawLeaves = true; p.Chunker = "size-1000" }},
		{"cid v1", func() files.Directory { return fileDir("file", data) }, func(p *api.AddParams) { p.CidVersion = 1 }},
		{"blake2b", func() files.Directory { return fileDir("file", data) }, func(p *api.AddParams) { p.HashFun = "blake2b-256" }},
		{"sha3 v1 trickle", func() files.Directory { return fileDir("file", data) }, func(p *api.AddParams) { p.HashFun = "sha3-256"; p.CidVersion = 1; p.Layout = "trickle" }},
		{"tree", func() files.Directory { return tree(20) }, nil},
		{"tree hidden", func() files.Directory { return tree(20) }, func(p *api.AddParams) { p.Hidden = true }},
		{"tree wrapped v1", func() files.Directory { return tree(20) }, func(p *api.AddParams) { p.WrapWithDirectory = true; p.CidVersion = 1 }},
		{"sharded dir", func() files.Directory { return tree(3000) }, nil},
		{"two files", twoFiles, nil},
		{"two files wrapped", twoFiles, func(p *api.AddParams) { p.WrapWithDirectory = true }},
		{"empty dir", emptyDir, nil},
		{"empty dir v1", emptyDir, func(p *api.AddParams) { p.CidVersion = 1 }},
		{"dir of hidden files", hiddenOnlyDir, nil},
		{"empty dir wrapped", emptyDir, func(p *api.AddParams) { p.WrapWithDirectory = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := api.DefaultAddParams()
			if tt.mod != nil {
				tt.mod(&p)
			}
			want := addWith(t, e, tt.input(), p)
			got := addWith(t, k, tt.input(), p)
			if !got.root.Equals(want.root.Cid) {
				t.Errorf("kubo root %s, embedded root %s", got.root, want.root)
			}
			// Kubo reports a directory's files before its subdirectories; the set is the same.
			slices.Sort(got.outs)
			slices.Sort(want.outs)
			if !slices.Equal(got.outs, want.outs) {
				t.Errorf("outputs differ:\nkubo:     %v\nembedded: %v", trim(got.outs), trim(want.outs))
			}
		})
	}
}

func trim(s []string) []string {
	if len(s) > 12 {
		return append(s[:6:6], append([]string{"..."}, s[len(s)-6:]...)...)
	}
	return s
}

func TestAddProgressAndErrors(t *testing.T) {
	k := kuboNode(t)
	var progress []uint64
	p := api.DefaultAddParams()
	p.Progress = true
	root, err := k.Add(testCtx(t), fileDir("file", randBytes(2, 3<<20)), p, func(o api.AddedOutput) {
		if !o.Cid.Defined() {
			progress = append(progress, o.Bytes)
		}
	})
	if err != nil || !root.Defined() {
		t.Fatalf("Add = %v, %v", root, err)
	}
	if len(progress) == 0 || progress[len(progress)-1] != 3<<20 {
		t.Fatalf("progress lines %v, want a last one of %d bytes", progress, 3<<20)
	}

	bad := []struct {
		name string
		dir  files.Directory
		p    func(*api.AddParams)
	}{
		{"no files", files.NewSliceDirectory(nil), nil},
		{"bad chunker", fileDir("f", []byte("x")), func(p *api.AddParams) { p.Chunker = "bogus" }},
	}
	for _, tt := range bad {
		p := api.DefaultAddParams()
		if tt.p != nil {
			tt.p(&p)
		}
		if _, err := k.Add(testCtx(t), tt.dir, p, nil); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
		}
	}
}

func TestPinUnpin(t *testing.T) {
	k := kuboNode(t)
	ctx := testCtx(t)
	p := api.DefaultAddParams()
	p.Chunker = "size-1000"
	root := addWith(t, k, fileDir("file", randBytes(3, 200_000)), p).root

	if ok, _, err := k.IsPinned(ctx, root); err != nil || ok {
		t.Fatalf("IsPinned before pin = %v, %v", ok, err)
	}
	var last atomic.Uint64
	if err := k.Pin(ctx, root, api.PinModeRecursive, func(n uint64) { last.Store(n) }); err != nil {
		t.Fatal(err)
	}
	if last.Load() < 200 { // 200 leaves and their parents
		t.Errorf("last progress %d, want at least 200 blocks", last.Load())
	}
	if ok, mode, err := k.IsPinned(ctx, root); err != nil || !ok || mode != api.PinModeRecursive {
		t.Fatalf("IsPinned = %v %v %v", ok, mode, err)
	}
	// Pinning again, and pinning directly what is pinned recursively, succeed.
	if err := k.Pin(ctx, root, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	if err := k.Pin(ctx, root, api.PinModeDirect, nil); err != nil {
		t.Fatal(err)
	}
	if ok, mode, _ := k.IsPinned(ctx, root); !ok || mode != api.PinModeRecursive {
		t.Fatalf("direct pin of a recursive pin changed it to %v %v", ok, mode)
	}

	// A direct pin of another block.
	other := addWith(t, k, fileDir("x", []byte("direct me")), api.DefaultAddParams()).root
	var one atomic.Uint64
	if err := k.Pin(ctx, other, api.PinModeDirect, func(n uint64) { one.Store(n) }); err != nil {
		t.Fatal(err)
	}
	if one.Load() != 1 {
		t.Errorf("direct pin progress %d, want 1", one.Load())
	}
	if ok, mode, _ := k.IsPinned(ctx, other); !ok || mode != api.PinModeDirect {
		t.Fatalf("IsPinned(direct) = %v %v", ok, mode)
	}

	listed := map[string]api.PinMode{}
	if err := k.PinLs(ctx, func(c api.Cid, m api.PinMode) error { listed[c.String()] = m; return nil }); err != nil {
		t.Fatal(err)
	}
	if listed[root.String()] != api.PinModeRecursive || listed[other.String()] != api.PinModeDirect || len(listed) < 2 {
		t.Fatalf("PinLs = %v", listed)
	}
	stop := errors.New("stop")
	calls := 0
	if err := k.PinLs(ctx, func(api.Cid, api.PinMode) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("PinLs stopping: err %v after %d calls", err, calls)
	}

	for _, c := range []api.Cid{root, other} {
		if err := k.Unpin(ctx, c); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := k.IsPinned(ctx, c); err != nil || ok {
			t.Fatalf("IsPinned after unpin = %v, %v", ok, err)
		}
		if err := k.Unpin(ctx, c); !errors.Is(err, ipfs.ErrNotPinned) {
			t.Fatalf("second Unpin = %v, want ErrNotPinned", err)
		}
	}
	if err := k.Pin(ctx, api.CidUndef, api.PinModeRecursive, nil); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("Pin(undefined) = %v", err)
	}
}

// The daemon runs offline: a pin of a block nobody has fails (or times out) without hanging.
func TestPinMissing(t *testing.T) {
	k := kuboNode(t)
	h, _ := mh.Sum([]byte("nobody has this"), mh.SHA2_256, -1)
	c := api.NewCid(cid.NewCidV1(cid.Raw, h))
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	if err := k.Pin(ctx, c, api.PinModeRecursive, nil); err == nil {
		t.Fatal("pin of a missing block succeeded")
	} else {
		t.Logf("pin of a missing block: %v", err)
	}
	// A short deadline is reported as a timeout.
	short, cancel2 := context.WithTimeout(testCtx(t), time.Millisecond)
	defer cancel2()
	<-short.Done()
	if err := k.Pin(short, c, api.PinModeRecursive, nil); !errors.Is(err, api.ErrTimeout) {
		t.Fatalf("pin past its deadline = %v, want ErrTimeout", err)
	}
}

// testDAG is a dag-pb root linking nLeaves raw leaves of leafSize bytes each.
func testDAG(t testing.TB, seed uint64, nLeaves, leafSize int) (cid.Cid, []blocks.Block) {
	t.Helper()
	root := merkledag.NodeWithData([]byte{0x08, 0x01}) // unixfs Directory
	var bs []blocks.Block
	for i := range nLeaves {
		data := randBytes(seed*1000+uint64(i), leafSize)
		h, _ := mh.Sum(data, mh.SHA2_256, -1)
		b, _ := blocks.NewBlockWithCid(data, cid.NewCidV1(cid.Raw, h))
		bs = append(bs, b)
		if err := root.AddRawLink(fmt.Sprintf("l%03d", i), &format.Link{Cid: b.Cid(), Size: uint64(leafSize)}); err != nil {
			t.Fatal(err)
		}
	}
	return root.Cid(), append([]blocks.Block{root}, bs...)
}

// carV1 and carV2 are internal/cartest's.
func carV1(roots []cid.Cid, bs []blocks.Block) []byte { return cartest.V1(roots, bs) }

func carV2(t *testing.T, v1 []byte) []byte { return cartest.V2(t, v1) }

func TestImportCAR(t *testing.T) {
	k := kuboNode(t)
	for i, version := range []string{"v1", "v2"} {
		t.Run(version, func(t *testing.T) {
			root, bs := testDAG(t, uint64(10+i), 5, 1000)
			data := carV1([]cid.Cid{root}, bs)
			if version == "v2" {
				data = carV2(t, data)
			}
			got, err := k.ImportCAR(testCtx(t), bytes.NewReader(data))
			if err != nil || !got.Equals(root) {
				t.Fatalf("ImportCAR = %v, %v; want %s", got, err, root)
			}
			if ok, _, _ := k.IsPinned(testCtx(t), got); ok {
				t.Fatal("ImportCAR pinned the root")
			}
			// The blocks are there: an offline recursive pin succeeds.
			if err := k.Pin(testCtx(t), got, api.PinModeRecursive, nil); err != nil {
				t.Fatal(err)
			}
			if err := k.Unpin(testCtx(t), got); err != nil {
				t.Fatal(err)
			}
		})
	}

	root, bs := testDAG(t, 3, 5, 1000)
	other, _ := testDAG(t, 4, 1, 10)
	good := carV1([]cid.Cid{root}, bs)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 0xff // last block's data no longer matches its CID
	v2 := carV2(t, good)
	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"zero roots", carV1(nil, bs), "CAR has 0 roots; exactly one is required"},
		{"two roots", carV1([]cid.Cid{root, other}, bs), "CAR has 2 roots; exactly one is required"},
		{"truncated v1", good[:len(good)-100], ""},
		{"truncated v2 at a block boundary", v2[:len(v2)-len(bs[4].RawData())-len(bs[4].Cid().Bytes())-2], "truncated"},
		{"truncated header", good[:10], "not a CAR"},
		{"garbage", []byte("this is not a CAR file at all, just text"), "not a CAR"},
		{"empty", nil, "not a CAR"},
		{"hash mismatch", corrupt, ""},
		{"root block absent", carV1([]cid.Cid{other}, bs), "root block " + other.String() + " is not in the CAR"},
		{"root only, no blocks", carV1([]cid.Cid{root}, nil), "is not in the CAR"},
		{"root absent from a v2", carV2(t, carV1([]cid.Cid{other}, bs)), "is not in the CAR"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := k.ImportCAR(testCtx(t), bytes.NewReader(tt.data))
			if !errors.Is(err, ipfs.ErrBadCAR) || !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadCAR (an ErrInvalid) containing %q", err, tt.want)
			}
			t.Logf("%v", err)
		})
	}
}

// ImportCARRoots (the proxy's dag import): any number of roots, none too, which the CAR need not
// carry; nothing is pinned.
func TestImportCARRoots(t *testing.T) {
	k := kuboNode(t)
	r1, bs1 := testDAG(t, 20, 3, 1000)
	r2, bs2 := testDAG(t, 21, 3, 1000)
	absent, _ := testDAG(t, 22, 1, 10)
	got, err := k.ImportCARRoots(testCtx(t), bytes.NewReader(carV2(t, carV1([]cid.Cid{r1, r2, absent}, append(bs1, bs2...)))))
	if err != nil || len(got) != 3 || !got[0].Equals(r1) || !got[1].Equals(r2) || !got[2].Equals(absent) {
		t.Fatalf("ImportCARRoots = %v, %v; want the three roots in order", got, err)
	}
	for _, c := range []cid.Cid{r1, r2} {
		if ok, _ := k.HasBlock(testCtx(t), c); !ok {
			t.Fatalf("root %s not stored", c)
		}
		if ok, _, _ := k.IsPinned(testCtx(t), api.NewCid(c)); ok {
			t.Fatal("ImportCARRoots pinned a root")
		}
	}
	if ok, _ := k.HasBlock(testCtx(t), absent); ok {
		t.Fatal("a root the CAR did not carry is stored")
	}
	r3, bs3 := testDAG(t, 23, 1, 1000)
	if got, err := k.ImportCARRoots(testCtx(t), bytes.NewReader(carV1(nil, bs3))); err != nil || len(got) != 0 {
		t.Fatalf("a CAR without roots: %v, %v", got, err)
	}
	if ok, _ := k.HasBlock(testCtx(t), r3); !ok {
		t.Fatal("the blocks of a CAR without roots are not stored")
	}
	if _, err := k.ImportCARRoots(testCtx(t), bytes.NewReader([]byte("not a car"))); !errors.Is(err, ipfs.ErrBadCAR) {
		t.Fatalf("garbage: %v, want ErrBadCAR", err)
	}
}

func TestRepoStatAndGC(t *testing.T) {
	k := kuboNode(t)
	ctx := testCtx(t)
	kept := addWith(t, k, fileDir("kept", randBytes(20, 50_000)), api.DefaultAddParams()).root
	if err := k.Pin(ctx, kept, api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	p := api.DefaultAddParams()
	p.CidVersion = 1
	p.Chunker = "size-10000"
	garbage := addWith(t, k, fileDir("garbage", randBytes(21, 50_000)), p).root

	st, err := k.RepoStat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.RepoSize == 0 || st.StorageMax == 0 || st.NumObjects < 7 || st.FreeSpace == 0 || st.FreeSpace > st.StorageMax {
		t.Fatalf("RepoStat = %+v", st)
	}

	removed, err := k.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Kubo's blockstore keys blocks by multihash: GC reports raw CIDv1s.
	sameHash := func(a api.Cid) func(api.Cid) bool {
		return func(c api.Cid) bool { return bytes.Equal(c.Hash(), a.Hash()) }
	}
	if !slices.ContainsFunc(removed, sameHash(garbage)) {
		t.Fatalf("GC removed %d blocks, not the unpinned root %s", len(removed), garbage)
	}
	if slices.ContainsFunc(removed, sameHash(kept)) {
		t.Fatal("GC removed a pinned root")
	}
	after, err := k.RepoStat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.NumObjects >= st.NumObjects {
		t.Fatalf("NumObjects %d after GC, %d before", after.NumObjects, st.NumObjects)
	}
	// The unpinned content is gone: an offline pin fails; the pinned one is intact.
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := k.Pin(short, garbage, api.PinModeRecursive, nil); err == nil {
		t.Fatal("pin of collected content succeeded offline")
	}
	if err := k.Unpin(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if err := k.Pin(ctx, kept, api.PinModeRecursive, nil); err != nil {
		t.Fatalf("re-pin of kept content: %v", err)
	}
}

// Resolve agrees with the embedded node's on the same tree.
func TestResolve(t *testing.T) {
	k := kuboNode(t)
	e := embeddedNode(t)
	a := addWith(t, k, tree(3000), api.DefaultAddParams())
	if b := addWith(t, e, tree(3000), api.DefaultAddParams()); !b.root.Equals(a.root.Cid) {
		t.Fatalf("roots differ: kubo %s, embedded %s", a.root, b.root)
	}
	r := a.root.String()
	for _, p := range []string{r, "/ipfs/" + r, "/ipfs/" + r + "/", "/ipfs/" + r + "/a.txt",
		"/ipfs/" + r + "/sub/b.txt", "/ipfs/" + r + "/big/f2345", "/ipld/" + r + "/Links/0/Hash"} {
		got, err := k.Resolve(testCtx(t), p)
		want, werr := e.Resolve(testCtx(t), p)
		if err != nil || werr != nil || !got.Equals(want.Cid) {
			t.Errorf("Resolve(%s): kubo %v, %v; embedded %v, %v", p, got, err, want, werr)
		}
	}
	h, _ := mh.Sum([]byte("absent"), mh.SHA2_256, -1)
	missing := cid.NewCidV1(cid.Raw, h).String()
	bad := []struct {
		path string
		want error
	}{
		{"/ipfs/" + r + "/nope", api.ErrNotFound},
		{"/ipfs/" + r + "/sub/nope/deeper", api.ErrNotFound},
		{"/ipfs/" + r + "/big/f9999", api.ErrNotFound},
		{"/ipfs/" + missing + "/x", api.ErrNotFound},
		{"/ipfs/notacid/x", api.ErrInvalid},
		{"/foo/bar", api.ErrInvalid},
		{"", api.ErrInvalid},
	}
	for _, tt := range bad {
		ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
		got, err := k.Resolve(ctx, tt.path)
		cancel()
		if !errors.Is(err, tt.want) {
			t.Errorf("Resolve(%q) = %v, %v; want an error wrapping %v", tt.path, got, err, tt.want)
		}
	}
}

func TestIDAndClose(t *testing.T) {
	k := kuboNode(t)
	id, err := k.ID(testCtx(t))
	if err != nil || id.ID == "" || id.Addresses == nil {
		t.Fatalf("ID = %+v, %v", id, err)
	}
	k.Close()
	if _, err := k.ID(testCtx(t)); !errors.Is(err, ipfs.ErrClosed) {
		t.Fatalf("ID after Close = %v", err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
}
