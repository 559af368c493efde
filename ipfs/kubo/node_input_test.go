package kubo

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// The kubo side of the embedded backend's input rules (empty directories, malformed uploads,
// CARs without their root block), against a real Kubo; input_test.go has the canned versions.

func emptyDir() files.Directory {
	return files.NewSliceDirectory([]files.DirEntry{files.FileEntry("d", files.NewSliceDirectory(nil))})
}

func hiddenOnlyDir() files.Directory {
	return files.NewSliceDirectory([]files.DirEntry{files.FileEntry("d", fileDir(".x", []byte("x")))})
}

// An empty directory is added as Kubo adds it, the empty UnixFS directory, and pins (its block
// is stored); so is a directory whose entries are all hidden. (Until the embedded backend did
// the same, both were refused as empty input.)
func TestAddEmptyDirectory(t *testing.T) {
	k := kuboNode(t)
	for _, tt := range []struct {
		name string
		dir  files.Directory
		v1   bool
		want string
	}{
		{"empty dir", emptyDir(), false, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"},
		{"dir of hidden files", hiddenOnlyDir(), false, "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"},
		{"cidv1", emptyDir(), true, "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := api.DefaultAddParams()
			if tt.v1 {
				p.CidVersion = 1
			}
			a := addWith(t, k, tt.dir, p)
			if a.root.String() != tt.want || len(a.outs) != 1 || !strings.HasPrefix(a.outs[0], "d "+tt.want) {
				t.Fatalf("root %s, outputs %v; want %s reported once as d", a.root, a.outs, tt.want)
			}
			if err := k.Pin(testCtx(t), a.root, api.PinModeRecursive, nil); err != nil {
				t.Fatalf("pin: %v", err)
			}
			if ok, mode, err := k.IsPinned(testCtx(t), a.root); err != nil || !ok || mode != api.PinModeRecursive {
				t.Fatalf("IsPinned = %v %v %v", ok, mode, err)
			}
			if err := k.Unpin(testCtx(t), a.root); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A malformed or truncated upload is ErrInvalid (400), not the broken call to Kubo it causes.
func TestAddMalformedMultipart(t *testing.T) {
	k := kuboNode(t)
	good, bd := goodMultipart(t)
	if _, err := addMultipart(testCtx(t), k, good, bd); err != nil {
		t.Fatalf("good body: %v", err)
	}
	for name, body := range malformedMultiparts(good, bd) {
		t.Run(name, func(t *testing.T) {
			if _, err := addMultipart(testCtx(t), k, body, bd); !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// A CAR without its root block stores nothing in Kubo: it is refused before Kubo sees it. The
// root is found by multihash wherever it is; an identity root needs no block.
func TestImportCARRootPresence(t *testing.T) {
	k := kuboNode(t)
	objects := func() uint64 {
		st, err := k.RepoStat(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		return st.NumObjects
	}
	root, bs := testDAG(t, 40, 6, 1000)
	other, _ := testDAG(t, 41, 1, 10)
	before := objects()
	if _, err := k.ImportCAR(testCtx(t), bytes.NewReader(carV1([]cid.Cid{other}, bs))); !errors.Is(err, ipfs.ErrBadCAR) {
		t.Fatalf("root absent: %v", err)
	}
	if after := objects(); after != before {
		t.Fatalf("%d objects after a refused import, %d before", after, before)
	}

	rootLast := append(slices.Clone(bs[1:]), bs[0])
	v1root := cid.NewCidV1(cid.DagProtobuf, root.Hash())
	idHash, _ := mh.Sum([]byte("inline"), mh.IDENTITY, -1)
	idRoot := cid.NewCidV1(cid.Raw, idHash)
	for name, c := range map[string]cid.Cid{"root block last": root, "cidv1 root of a cidv0 block": v1root, "identity root": idRoot} {
		bl := rootLast
		if c.Equals(idRoot) {
			bl = nil
		}
		got, err := k.ImportCAR(testCtx(t), bytes.NewReader(carV1([]cid.Cid{c}, bl)))
		if err != nil || !got.Equals(c) {
			t.Fatalf("%s: ImportCAR = %v, %v; want %s", name, got, err, c)
		}
	}
	// The blocks are all there: an offline recursive pin succeeds.
	if err := k.Pin(testCtx(t), api.NewCid(root), api.PinModeRecursive, nil); err != nil {
		t.Fatal(err)
	}
	if err := k.Unpin(testCtx(t), api.NewCid(root)); err != nil {
		t.Fatal(err)
	}
}
