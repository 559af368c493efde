package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"

	"github.com/pincluster/pincluster/api"
)

// An empty directory is added as Kubo adds it: the empty UnixFS directory, whose block is stored
// so that the pin completes. A directory whose entries are all hidden is empty too.
func TestAddEmptyDirectory(t *testing.T) {
	emptyV0 := "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
	emptyV1 := "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
	hidden := files.NewMapDirectory(map[string]files.Node{".x": files.NewBytesFile([]byte("x"))})
	for _, tt := range []struct {
		name string
		dir  files.Node
		p    func(*api.AddParams)
		want string
	}{
		{"empty dir", files.NewMapDirectory(nil), nil, emptyV0},
		{"only hidden entries", hidden, nil, emptyV0},
		{"cidv1", files.NewMapDirectory(nil), func(p *api.AddParams) { p.CidVersion = 1 }, emptyV1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t)
			var outs []api.AddedOutput
			in := files.NewMapDirectory(map[string]files.Node{"d": tt.dir})
			root, err := n.Add(testCtx(t), in, params(tt.p), func(o api.AddedOutput) { outs = append(outs, o) })
			if err != nil {
				t.Fatal(err)
			}
			if root.String() != tt.want {
				t.Fatalf("root %s, want %s", root, tt.want)
			}
			if len(outs) != 1 || outs[0].Name != "d" || outs[0].Cid != root {
				t.Fatalf("outputs %+v, want one for d", outs)
			}
			if !hasBlock(t, n, root.Cid) {
				t.Fatal("empty directory block not stored")
			}
			if err := n.Pin(testCtx(t), root, api.PinModeRecursive, nil); err != nil {
				t.Fatalf("pin: %v", err)
			}
		})
	}
}

// Every hash add accepts stores its blocks; the check lives in api.AddParams.Validate, so an
// insecure hash fails before anything is read or reported.
func TestAddSupportedHashes(t *testing.T) {
	n := newNode(t)
	for _, h := range api.SupportedHashes {
		root, _ := addBytes(t, n, []byte("hash "+h), params(func(p *api.AddParams) { p.HashFun = h }))
		if !hasBlock(t, n, root.Cid) {
			t.Errorf("%s: root %s not stored", h, root)
		}
	}
	var outs []api.AddedOutput
	_, err := n.Add(testCtx(t), fileDir("f", []byte("x")), params(func(p *api.AddParams) { p.HashFun = "md5" }),
		func(o api.AddedOutput) { outs = append(outs, o) })
	if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "sha2-256") || len(outs) != 0 {
		t.Fatalf("md5: err = %v, outputs %v; want ErrInvalid naming the supported hashes, nothing reported", err, outs)
	}
}

// addMultipart parses body as peer.Add does and adds it.
func addMultipart(ctx context.Context, n *Node, body []byte, boundary string) (api.Cid, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	f, err := files.NewFileFromPartReader(mr, "multipart/form-data")
	if err != nil {
		return api.CidUndef, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	d, ok := f.(files.Directory)
	if !ok {
		return api.CidUndef, fmt.Errorf("%w: not a file list", api.ErrInvalid)
	}
	return n.Add(ctx, d, api.DefaultAddParams(), nil)
}

// goodMultipart is a body as Kubo's and pincluster's clients send it.
func goodMultipart(t testing.TB) ([]byte, string) {
	t.Helper()
	dir := files.NewMapDirectory(map[string]files.Node{
		"a.txt": files.NewBytesFile(bytes.Repeat([]byte("a"), 3000)),
		"sub":   files.NewMapDirectory(map[string]files.Node{"b.txt": files.NewBytesFile([]byte("b"))}),
	})
	mfr := files.NewMultiFileReader(files.NewMapDirectory(map[string]files.Node{"dir": dir}), true, false)
	b, err := io.ReadAll(mfr)
	if err != nil {
		t.Fatal(err)
	}
	return b, mfr.Boundary()
}

// A malformed or truncated multipart body is the caller's mistake: ErrInvalid, never an
// internal error.
func TestAddMalformedMultipart(t *testing.T) {
	n := newNode(t)
	good, bd := goodMultipart(t)
	if _, err := addMultipart(testCtx(t), n, good, bd); err != nil {
		t.Fatalf("good body: %v", err)
	}
	cut := bytes.Index(good, bytes.Repeat([]byte("a"), 100))
	tests := map[string][]byte{
		"garbage":              []byte("not multipart at all"),
		"truncated in a file":  good[:cut+50],
		"truncated, last file": good[:bytes.LastIndex(good, []byte("\r\n--"+bd))-1],
		"no closing boundary":  good[:len(good)-len(bd)-6],
		"malformed header":     []byte("--" + bd + "\r\nContent-Disposition form-data\r\n\r\nx\r\n--" + bd + "--\r\n"),
		"part without a name":  []byte("--" + bd + "\r\nContent-Type: application/octet-stream\r\n\r\nx\r\n--" + bd + "--\r\n"),
		"header without end":   []byte("--" + bd + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\""),
		"bad content type":     []byte("--" + bd + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\nContent-Type: ;;\r\n\r\nx\r\n--" + bd + "--\r\n"),
		"boundary, then noise": []byte("--" + bd + "\r\n\x00\x01\x02"),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := addMultipart(testCtx(t), n, body, bd); !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// FuzzAddMultipart: whatever the body, Add never panics and either succeeds or fails with
// ErrInvalid (a 400), never with an internal error.
func FuzzAddMultipart(f *testing.F) {
	good, bd := goodMultipart(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("--" + bd + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n--" + bd + "--\r\n"))
	f.Add([]byte("--" + bd + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d\"\r\nContent-Type: application/x-directory\r\n\r\n\r\n--" + bd + "--\r\n"))
	f.Add([]byte("garbage"))
	n, err := New(f.Context(), Config{Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close() })
	f.Fuzz(func(t *testing.T, body []byte) {
		type result struct {
			c   api.Cid
			err error
		}
		ch := make(chan result, 1)
		go func() { c, err := addMultipart(t.Context(), n, body, bd); ch <- result{c, err} }()
		var r result
		select {
		case r = <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("Add of a %d-byte body did not return in 10s", len(body))
		}
		c, err := r.c, r.err
		if err != nil && !errors.Is(err, api.ErrInvalid) {
			t.Fatalf("error not wrapping ErrInvalid: %v", err)
		}
		if err == nil && !c.Defined() {
			t.Fatal("success without a root")
		}
	})
}
