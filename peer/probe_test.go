package peer

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbeOnlyInTests keeps internal/peerprobe a testing view: outside test files, only the
// peer (which fills it), the in-process harness (testcluster) and the benchmarks (bench) may
// import it.
func TestProbeOnlyInTests(t *testing.T) {
	allowed := []string{"peer", "testcluster", "bench", filepath.Join("internal", "peerprobe")}
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, a := range allowed {
			if filepath.Dir(rel) == a {
				return nil
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(`"github.com/pincluster/pincluster/internal/peerprobe"`)) {
			t.Errorf("%s imports internal/peerprobe: production code must use the peer's services", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoGoroutinesInPeer keeps peer to assembly and lifecycle: background work runs in the
// actors and their I/O workers, never in a goroutine the peer starts.
func TestNoGoroutinesInPeer(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s: a go statement in peer: move the work into an actor or an I/O worker", fset.Position(g.Pos()))
			}
			return true
		})
	}
}
