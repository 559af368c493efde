package embedded

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/boxo/files"

	"github.com/pincluster/pincluster/api"
)

// A wrapper entry must have a name that makes a link, and two entries of one name must not
// leave one of them out silently (Kubo: "directory already has entry by that name").
func TestAddWrapRefusesBadNames(t *testing.T) {
	n := newNode(t)
	wrap := params(func(p *api.AddParams) { p.WrapWithDirectory = true })
	file := func(s string) files.Node { return files.NewBytesFile([]byte(s)) }
	tests := []struct {
		name string
		dir  files.Directory
		p    api.AddParams
		want string
	}{
		{"duplicate", files.NewSliceDirectory([]files.DirEntry{files.FileEntry("hello", file("1")), files.FileEntry("hello", file("2"))}),
			wrap, "directory already has entry by that name"},
		{"empty name", files.NewSliceDirectory([]files.DirEntry{files.FileEntry("", file("1"))}), wrap, "has no name"},
		{"dot", files.NewSliceDirectory([]files.DirEntry{files.FileEntry(".", file("1"))}), wrap, `"." cannot be an entry`},
		{"duplicate in a directory", files.NewSliceDirectory([]files.DirEntry{files.FileEntry("d", files.NewSliceDirectory(
			[]files.DirEntry{files.FileEntry("x", file("1")), files.FileEntry("x", file("2"))}))}),
			params(nil), `cannot add "x" to directory "d": directory already has entry by that name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var outs []api.AddedOutput
			_, err := n.Add(testCtx(t), tt.dir, tt.p, func(o api.AddedOutput) { outs = append(outs, o) })
			if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Add: %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
	// Without a wrapper the top-level name is only a label: an unnamed file is fine.
	if _, err := n.Add(testCtx(t), fileDir("", []byte("x")), params(nil), nil); err != nil {
		t.Fatalf("unwrapped unnamed file: %v", err)
	}
}

// raw-leaves=false is honoured with CIDv1 (Kubo's CIDs for "hello world\n").
func TestAddRawLeavesFalseWithCidV1(t *testing.T) {
	n := newNode(t)
	hello := []byte("hello world\n")
	tests := []struct {
		name string
		mod  func(*api.AddParams)
		want string
	}{
		{"v1 raw-leaves=false", func(p *api.AddParams) { p.CidVersion = 1; p.RawLeavesSet = true },
			"bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby"},
		{"v1 unset", func(p *api.AddParams) { p.CidVersion = 1 }, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"},
		{"sha3 unset", func(p *api.AddParams) { p.HashFun = "sha3-256" }, "bafkrmifiacnhuuunq53yynlnuosv3fshdhubqztkatspsygj4jbz4nprha"},
		{"sha3 raw-leaves=false", func(p *api.AddParams) { p.HashFun = "sha3-256"; p.RawLeavesSet = true },
			"bafybmiatzgjqbrhxrwxqt3grh6ljptpxaw3on5bnwigqcowzll7zfomtli"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, _ := addBytes(t, n, hello, params(tt.mod)); c.String() != tt.want {
				t.Fatalf("root %s, want %s", c, tt.want)
			}
		})
	}
}
