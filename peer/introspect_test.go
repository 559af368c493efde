package peer

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntrospectOnlyInTests keeps Introspection a testing view: outside test files, only the
// in-process harness (testcluster) and the benchmarks (bench) may call Introspect.
func TestIntrospectOnlyInTests(t *testing.T) {
	allowed := []string{"testcluster" + string(filepath.Separator), "bench" + string(filepath.Separator)}
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
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || rel == filepath.Join("peer", "introspect.go") {
			return nil
		}
		for _, a := range allowed {
			if strings.HasPrefix(rel, a) {
				return nil
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(".Introspect()")) {
			t.Errorf("%s calls Introspect: production code must use the peer's API", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
