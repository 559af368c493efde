package offlinestate

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// An import stopped after it wrote part of the file leaves a mark the daemon refuses to start
// on; running it again (or state cleanup) clears it. A file refused before anything is written
// leaves none.
func TestInterruptedImportIsMarked(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	if err := Import(context.Background(), dir, strings.NewReader(exportOf(t, "a", 3)+"not json\n"), ImportOptions{}, nil); err == nil {
		t.Fatal("a bad line imported")
	}
	if err := CheckImport(dir); err != nil {
		t.Fatalf("a refused file left a mark: %v", err)
	}
	// Cancelled between two batches of a large file (once it is read whole, as validation
	// reads it before anything is written): part of it is written.
	const n = 3 * 4096 // three of persistence's import batches
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := Import(ctx, dir, &cancelAtEOF{r: strings.NewReader(exportOf(t, "b", n)), cancel: cancel}, ImportOptions{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the import was not interrupted: %v", err)
	}
	if err := CheckImport(dir); err == nil || !strings.Contains(err.Error(), "run it again") {
		t.Fatalf("an interrupted import: CheckImport = %v", err)
	}
	if err := Import(context.Background(), dir, strings.NewReader(exportOf(t, "b", n)), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := CheckImport(dir); err != nil {
		t.Fatalf("after the import ran again: %v", err)
	}
}

// cancelAtEOF calls cancel when r is read to its end.
type cancelAtEOF struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelAtEOF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.cancel()
	}
	return n, err
}
