package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"

	"github.com/pincluster/pincluster/api"
)

// testCtx returns a context bounded by a deadline well under the package's time budget.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newNode opens an offline node in a temp dir, closed at cleanup.
func newNode(t *testing.T, opts ...func(*Config)) *Node {
	t.Helper()
	cfg := Config{Dir: t.TempDir()}
	for _, o := range opts {
		o(&cfg)
	}
	n, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func noGrace(c *Config) { c.AddGrace = -1 }

func fileDir(name string, data []byte) files.Directory {
	return files.NewSliceDirectory([]files.DirEntry{files.FileEntry(name, files.NewBytesFile(data))})
}

func params(mod func(*api.AddParams)) api.AddParams {
	p := api.DefaultAddParams()
	if mod != nil {
		mod(&p)
	}
	return p
}

// addBytes adds one file and returns its root and the outputs reported.
func addBytes(t *testing.T, n *Node, data []byte, p api.AddParams) (api.Cid, []api.AddedOutput) {
	t.Helper()
	var outs []api.AddedOutput
	c, err := n.Add(testCtx(t), fileDir("file", data), p, func(o api.AddedOutput) { outs = append(outs, o) })
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return c, outs
}

func randBytes(seed uint64, size int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, size)
	rand.NewChaCha8(key).Read(b)
	return b
}

// readBack reads a UnixFS file from the node's local blocks.
func readBack(t *testing.T, n *Node, c cid.Cid) []byte {
	t.Helper()
	ctx := testCtx(t)
	nd, err := n.localDAG.Get(ctx, c)
	if err != nil {
		t.Fatalf("get %s: %v", c, err)
	}
	r, err := uio.NewDagReader(ctx, nd, n.localDAG)
	if err != nil {
		t.Fatalf("reader %s: %v", c, err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", c, err)
	}
	return b
}

func hasBlock(t *testing.T, n *Node, c cid.Cid) bool {
	t.Helper()
	ok, err := n.bstore.Has(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func countBlocks(t *testing.T, n *Node) int {
	t.Helper()
	c, err := n.countBlocks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(c)
}

func mustCid(t *testing.T, s string) api.Cid {
	t.Helper()
	c, err := api.DecodeCid(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var _ = bytes.Equal
