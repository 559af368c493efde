package embedded

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/ipfs/boxo/files"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
)

// Known outputs of Kubo's `ipfs add`.
func TestAddMatchesKubo(t *testing.T) {
	n := newNode(t)
	hello := []byte("hello world\n")
	tests := []struct {
		name string
		data []byte
		mod  func(*api.AddParams)
		want string
	}{
		{"defaults", hello, nil, "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"},
		// A single-chunk file with raw leaves is the raw block itself.
		{"cid v1", []byte("hello world"), func(p *api.AddParams) { p.CidVersion = 1 }, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"},
		{"raw leaves v0", []byte("hello world"), func(p *api.AddParams) { p.RawLeaves = true }, "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"},
		{"cid v1 newline", hello, func(p *api.AddParams) { p.CidVersion = 1 }, "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"},
		{"empty file", nil, nil, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, outs := addBytes(t, n, tt.data, params(tt.mod))
			if c.String() != tt.want {
				t.Fatalf("root = %s, want %s", c, tt.want)
			}
			if len(outs) != 1 || outs[0].Name != "file" || !outs[0].Cid.Equals(c.Cid) {
				t.Fatalf("outputs = %+v", outs)
			}
			if got := readBack(t, n, c.Cid); !bytes.Equal(got, tt.data) {
				t.Fatalf("read back %q, want %q", got, tt.data)
			}
		})
	}
}

// Every option combination must round-trip the content and produce the expected CID shape.
func TestAddOptions(t *testing.T) {
	n := newNode(t)
	data := randBytes(1, 300_000)
	tests := []struct {
		name    string
		mod     func(*api.AddParams)
		version uint64
		mhType  uint64
	}{
		{"default", nil, 0, mh.SHA2_256},
		{"size-1000", func(p *api.AddParams) { p.Chunker = "size-1000" }, 0, mh.SHA2_256},
		{"rabin", func(p *api.AddParams) { p.Chunker = "rabin" }, 0, mh.SHA2_256},
		{"rabin-min-avg-max", func(p *api.AddParams) { p.Chunker = "rabin-1024-4096-8192" }, 0, mh.SHA2_256},
		{"trickle", func(p *api.AddParams) { p.Layout = "trickle"; p.Chunker = "size-1000" }, 0, mh.SHA2_256},
		{"raw leaves", func(p *api.AddParams) { p.RawLeaves = true; p.Chunker = "size-1000" }, 0, mh.SHA2_256},
		{"cid v1", func(p *api.AddParams) { p.CidVersion = 1 }, 1, mh.SHA2_256},
		{"blake2b", func(p *api.AddParams) { p.HashFun = "blake2b-256" }, 1, mh.BLAKE2B_MIN + 31},
		{"sha3 v1 trickle", func(p *api.AddParams) { p.HashFun = "sha3-256"; p.CidVersion = 1; p.Layout = "trickle" }, 1, mh.SHA3_256},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := addBytes(t, n, data, params(tt.mod))
			if c.Version() != tt.version || c.Prefix().MhType != tt.mhType {
				t.Fatalf("root %s: version %d hash 0x%x, want %d 0x%x", c, c.Version(), c.Prefix().MhType, tt.version, tt.mhType)
			}
			if prev, dup := seen[c.String()]; dup {
				t.Fatalf("root %s same as option %q", c, prev)
			}
			seen[c.String()] = tt.name
			if got := readBack(t, n, c.Cid); !bytes.Equal(got, data) {
				t.Fatal("content does not round-trip")
			}
		})
	}
}

func TestAddBadChunker(t *testing.T) {
	n := newNode(t)
	// Passes AddParams.Validate's regexp but boxo rejects it.
	_, err := n.Add(testCtx(t), fileDir("f", []byte("x")), params(func(p *api.AddParams) { p.Chunker = "rabin-8-4-2" }), nil)
	if !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}

func tree() files.Directory {
	return files.NewMapDirectory(map[string]files.Node{
		"dir": files.NewMapDirectory(map[string]files.Node{
			"a.txt":   files.NewBytesFile([]byte("aaa")),
			".secret": files.NewBytesFile([]byte("hidden")),
			"sub": files.NewMapDirectory(map[string]files.Node{
				"b.txt": files.NewBytesFile([]byte("bbb")),
			}),
		}),
	})
}

func TestAddDirectoryTree(t *testing.T) {
	for _, hidden := range []bool{false, true} {
		n := newNode(t)
		var names []string
		outs := map[string]api.AddedOutput{}
		root, err := n.Add(testCtx(t), tree(), params(func(p *api.AddParams) { p.Hidden = hidden }), func(o api.AddedOutput) {
			names = append(names, o.Name)
			outs[o.Name] = o
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"dir/a.txt", "dir/sub/b.txt", "dir/sub", "dir"}
		if hidden {
			want = []string{"dir/.secret", "dir/a.txt", "dir/sub/b.txt", "dir/sub", "dir"}
		}
		if !slices.Equal(names, want) {
			t.Fatalf("hidden=%v: outputs %v, want %v", hidden, names, want)
		}
		if !outs["dir"].Cid.Equals(root.Cid) || outs["dir"].Size == 0 {
			t.Fatalf("root %s, dir output %+v", root, outs["dir"])
		}
		if got := readBack(t, n, outs["dir/sub/b.txt"].Cid.Cid); string(got) != "bbb" {
			t.Fatalf("b.txt = %q", got)
		}
		links, err := format.GetLinks(testCtx(t), n.localDAG, root.Cid)
		if err != nil {
			t.Fatal(err)
		}
		if wantLinks := map[bool]int{false: 2, true: 3}[hidden]; len(links) != wantLinks {
			t.Fatalf("hidden=%v: root has %d links", hidden, len(links))
		}
	}
}

func TestAddWrapWithDirectory(t *testing.T) {
	n := newNode(t)
	var outs []api.AddedOutput
	in := files.NewSliceDirectory([]files.DirEntry{
		files.FileEntry("one.txt", files.NewBytesFile([]byte("1"))),
		files.FileEntry("two.txt", files.NewBytesFile([]byte("2"))),
	})
	root, err := n.Add(testCtx(t), in, params(func(p *api.AddParams) { p.WrapWithDirectory = true }),
		func(o api.AddedOutput) { outs = append(outs, o) })
	if err != nil {
		t.Fatal(err)
	}
	last := outs[len(outs)-1]
	if len(outs) != 3 || last.Name != "" || !last.Cid.Equals(root.Cid) {
		t.Fatalf("outputs %+v, root %s", outs, root)
	}
	links, err := format.GetLinks(testCtx(t), n.localDAG, root.Cid)
	if err != nil || len(links) != 2 || links[0].Name != "one.txt" || links[1].Name != "two.txt" {
		t.Fatalf("wrapper links %v, %v", links, err)
	}
	// Without wrapping, several top-level files return the last one.
	root2, err := n.Add(testCtx(t), files.NewSliceDirectory([]files.DirEntry{
		files.FileEntry("one.txt", files.NewBytesFile([]byte("1"))),
		files.FileEntry("two.txt", files.NewBytesFile([]byte("2"))),
	}), params(nil), nil)
	if err != nil || !root2.Cid.Equals(links[1].Cid) {
		t.Fatalf("unwrapped root %s (%v), want %s", root2, err, links[1].Cid)
	}
}

func TestAddEmptyInput(t *testing.T) {
	n := newNode(t)
	var outs []api.AddedOutput
	if _, err := n.Add(testCtx(t), files.NewSliceDirectory(nil), params(nil), func(o api.AddedOutput) { outs = append(outs, o) }); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("no files: err = %v, want ErrInvalid", err)
	}
	if len(outs) != 0 {
		t.Errorf("no files: reported %v", outs)
	}
}

func TestAddProgress(t *testing.T) {
	n := newNode(t)
	data := randBytes(2, 100_000)
	_, outs := addBytes(t, n, data, params(func(p *api.AddParams) { p.Progress = true; p.Chunker = "size-10000" }))
	var lastBytes uint64
	progress := 0
	for _, o := range outs {
		if !o.Cid.Defined() {
			if o.Name != "file" || o.Bytes < lastBytes {
				t.Fatalf("bad progress line %+v after %d", o, lastBytes)
			}
			lastBytes = o.Bytes
			progress++
		}
	}
	if progress < 2 || lastBytes != uint64(len(data)) {
		t.Fatalf("%d progress lines, last %d bytes", progress, lastBytes)
	}
	if final := outs[len(outs)-1]; !final.Cid.Defined() || final.Size < uint64(len(data)) {
		t.Fatalf("final output %+v", final)
	}
}

func TestAddSymlink(t *testing.T) {
	n := newNode(t)
	in := files.NewMapDirectory(map[string]files.Node{"d": files.NewMapDirectory(map[string]files.Node{
		"link": files.NewLinkFile("target", nil), "f": files.NewBytesFile([]byte("f"))})})
	root, err := n.Add(testCtx(t), in, params(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	links, _ := format.GetLinks(testCtx(t), n.localDAG, root.Cid)
	if len(links) != 2 {
		t.Fatalf("links %v", links)
	}
}

var _ = cid.Undef
