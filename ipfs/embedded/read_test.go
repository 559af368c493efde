package embedded

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// TestContentReads: a multi-block file read back with OpenFile (from an offset), its root
// block with GetBlock, and its DAG exported as a CAR that another node imports whole.
func TestContentReads(t *testing.T) {
	n := newNode(t)
	data := randBytes(7, 700_000) // three 256 KiB chunks
	root, _ := addBytes(t, n, data, params(nil))

	f, size, err := n.OpenFile(testCtx(t), root, 100)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || size != int64(len(data)) || !bytes.Equal(got, data[100:]) {
		t.Fatalf("OpenFile: size %d, %d bytes, err %v", size, len(got), err)
	}
	if f, _, err := n.OpenFile(testCtx(t), root, int64(len(data)+5)); err != nil {
		t.Fatal(err)
	} else if b, _ := io.ReadAll(f); len(b) != 0 {
		t.Fatalf("offset past the end read %d bytes", len(b))
	} else {
		f.Close()
	}

	blk, err := n.GetBlock(testCtx(t), root)
	if err != nil || len(blk) == 0 {
		t.Fatalf("GetBlock: %d bytes, %v", len(blk), err)
	}

	var car bytes.Buffer
	if err := n.ExportCAR(testCtx(t), root, &car); err != nil {
		t.Fatal(err)
	}
	other := newNode(t)
	got2, err := other.ImportCAR(testCtx(t), &car)
	if err != nil || got2 != root {
		t.Fatalf("import of the export: %s, %v", got2, err)
	}
	if b := readBack(t, other, root.Cid); !bytes.Equal(b, data) {
		t.Fatal("the exported DAG does not read back")
	}

	absent, _ := addBytes(t, newNode(t), []byte("elsewhere"), params(nil))
	if _, err := n.GetBlock(testCtx(t), absent); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("GetBlock of a missing block: %v", err)
	}
	if _, _, err := n.OpenFile(testCtx(t), absent, 0); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("OpenFile of a missing block: %v", err)
	}
	if err := n.ExportCAR(testCtx(t), absent, io.Discard); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("ExportCAR of a missing root: %v", err)
	}
	// A directory is not a file.
	dir, err := n.Add(testCtx(t), fileDir("f", []byte("x")), params(func(p *api.AddParams) { p.WrapWithDirectory = true }), func(api.AddedOutput) {})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := n.OpenFile(testCtx(t), dir, 0); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("OpenFile of a directory: %v", err)
	}
}
