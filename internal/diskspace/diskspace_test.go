package diskspace

import "testing"

func TestFree(t *testing.T) {
	if n, err := Free(t.TempDir()); err != nil || n == 0 {
		t.Fatalf("Free of a temp dir: %d, %v", n, err)
	}
	if _, err := Free("/no/such/dir"); err == nil {
		t.Fatal("Free of a missing dir: no error")
	}
}
