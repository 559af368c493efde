package kubo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// What the add and import paths do with the caller's input, against canned Kubo answers: these
// tests need no daemon.

// recorder is a canned Kubo command that reads the whole multipart request, keeps its parts
// and answers with answer (an add line, say). A request whose body breaks off gets a 500.
type recorder struct {
	answer string
	mu     sync.Mutex
	calls  int
	parts  []recordedPart
}

type recordedPart struct {
	name, contentType string
	data              []byte
}

func (rc *recorder) handler(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.calls++
	rc.mu.Unlock()
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		kuboErr(400, err.Error())(w, r)
		return
	}
	var parts []recordedPart
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			kuboErr(500, err.Error())(w, r)
			return
		}
		data, err := io.ReadAll(p)
		if err != nil {
			kuboErr(500, err.Error())(w, r)
			return
		}
		parts = append(parts, recordedPart{p.FileName(), p.Header.Get("Content-Type"), data})
	}
	rc.mu.Lock()
	rc.parts = parts
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, rc.answer)
}

func (rc *recorder) result() (int, []recordedPart) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.calls, rc.parts
}

// An empty directory, or one whose entries are all hidden, is sent to Kubo as a directory part
// (Kubo adds it as the empty UnixFS directory); only an input without any entry is refused.
func TestAddSendsEmptyDirectory(t *testing.T) {
	rc := &recorder{answer: `{"Name":"d","Hash":"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn","Size":"4"}`}
	n := fakeKubo(t, map[string]http.HandlerFunc{"add": rc.handler})
	hidden := files.NewMapDirectory(map[string]files.Node{".x": files.NewBytesFile([]byte("x"))})
	for name, d := range map[string]files.Node{"empty": files.NewMapDirectory(nil), "only hidden": hidden} {
		in := files.NewMapDirectory(map[string]files.Node{"d": d})
		root, err := n.Add(testCtx(t), in, api.DefaultAddParams(), nil)
		if err != nil || root.String() != "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn" {
			t.Fatalf("%s: Add = %v, %v", name, root, err)
		}
		_, parts := rc.result()
		if len(parts) != 1 || parts[0].name != "d" || parts[0].contentType != "application/x-directory" {
			t.Fatalf("%s: sent %+v, want one directory part d", name, parts)
		}
	}
	if _, err := n.Add(testCtx(t), files.NewMapDirectory(nil), api.DefaultAddParams(), nil); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("no entries: %v, want ErrInvalid", err)
	}
}

// goodMultipart is an upload as Kubo's and pincluster's clients send it.
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

// malformedMultiparts are uploads that do not parse or break off (the embedded backend's cases).
func malformedMultiparts(good []byte, bd string) map[string][]byte {
	cut := bytes.Index(good, bytes.Repeat([]byte("a"), 100))
	return map[string][]byte{
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
}

// addMultipart parses body as peer.Add does and adds it.
func addMultipart(ctx context.Context, n *Node, body []byte, boundary string) (api.Cid, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	f, err := files.NewFileFromPartReader(mr, "multipart/form-data")
	if err != nil {
		return api.CidUndef, fmt.Errorf("%w: %v", api.ErrInvalid, err)
	}
	return n.Add(ctx, f, api.DefaultAddParams(), nil)
}

// A malformed or truncated upload is the caller's mistake, ErrInvalid (400), not the broken
// call to Kubo it causes (500).
func TestAddMalformedMultipartCanned(t *testing.T) {
	rc := &recorder{answer: `{"Name":"dir","Hash":"` + cidA + `","Size":"70"}`}
	n := fakeKubo(t, map[string]http.HandlerFunc{"add": rc.handler})
	good, bd := goodMultipart(t)
	if root, err := addMultipart(testCtx(t), n, good, bd); err != nil || root.String() != cidA {
		t.Fatalf("good body: %v, %v", root, err)
	}
	for name, body := range malformedMultiparts(good, bd) {
		t.Run(name, func(t *testing.T) {
			_, err := addMultipart(testCtx(t), n, body, bd)
			if !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// FuzzAddMultipart: whatever the upload, Add never panics or hangs, and either succeeds or
// fails with ErrInvalid (a 400), never with an internal error.
func FuzzAddMultipart(f *testing.F) {
	good, bd := goodMultipart(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	for _, b := range malformedMultiparts(good, bd) {
		f.Add(b)
	}
	rc := &recorder{answer: `{"Name":"dir","Hash":"` + cidA + `","Size":"70"}`}
	n := fakeKubo(f, map[string]http.HandlerFunc{"add": rc.handler})
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

// importAnswer is dag/import's answer (drained, not decoded).
const importAnswer = `{"Root":{"Cid":{"/":"` + cidA + `"},"PinErrorMsg":""}}`

// The root block is looked for before Kubo sees the CAR: a CAR without it is refused with
// ErrBadCAR (an ErrInvalid) and never sent; one with it reaches Kubo byte for byte, wherever the
// root block is (held in memory, or on disk past holdMemLimit, until it turns up).
func TestImportCARRootCheck(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the held bytes spill
	defer func(old int) { holdMemLimit = old }(holdMemLimit)
	holdMemLimit = 2000

	root, bs := testDAG(t, 30, 5, 1000)
	other, _ := testDAG(t, 31, 1, 10)
	rootLast := append(slices.Clone(bs[1:]), bs[0])
	v1root := cid.NewCidV1(cid.DagProtobuf, root.Hash())
	idHash, _ := mh.Sum([]byte("inline"), mh.IDENTITY, -1)
	idRoot := cid.NewCidV1(cid.Raw, idHash)

	good := []struct {
		name string
		root cid.Cid
		data []byte
	}{
		{"root first", root, carV1([]cid.Cid{root}, bs)},
		{"root last, spilled to disk", root, carV1([]cid.Cid{root}, rootLast)},
		{"root last in a v2", root, carV2(t, carV1([]cid.Cid{root}, rootLast))},
		{"cidv1 root of a cidv0 block", v1root, carV1([]cid.Cid{v1root}, rootLast)},
		{"identity root", idRoot, carV1([]cid.Cid{idRoot}, nil)},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{answer: importAnswer}
			n := fakeKubo(t, map[string]http.HandlerFunc{"dag/import": rc.handler})
			got, err := n.ImportCAR(testCtx(t), bytes.NewReader(tt.data))
			if err != nil || !got.Equals(tt.root) {
				t.Fatalf("ImportCAR = %v, %v; want %s", got, err, tt.root)
			}
			if _, parts := rc.result(); len(parts) != 1 || !bytes.Equal(parts[0].data, tt.data) {
				t.Fatal("Kubo did not receive the CAR as sent")
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Fatalf("hold file left behind: %v", left)
			}
		})
	}

	bad := []struct {
		name string
		data []byte
		want string
	}{
		{"root block absent", carV1([]cid.Cid{other}, bs), "the root block " + other.String() + " is not in the CAR"},
		{"root only, no blocks", carV1([]cid.Cid{root}, nil), "is not in the CAR"},
		{"root absent from a v2", carV2(t, carV1([]cid.Cid{other}, bs)), "is not in the CAR"},
		{"truncated before the root", carV1([]cid.Cid{root}, rootLast)[:3000], "truncated"},
		{"hash mismatch before the root", corruptFirstBlock(t, root, rootLast), "block 0"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			rc := &recorder{answer: importAnswer}
			n := fakeKubo(t, map[string]http.HandlerFunc{"dag/import": rc.handler})
			_, err := n.ImportCAR(testCtx(t), bytes.NewReader(tt.data))
			if !errors.Is(err, ipfs.ErrBadCAR) || !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrBadCAR (an ErrInvalid) containing %q", err, tt.want)
			}
			if calls, _ := rc.result(); calls != 0 {
				t.Fatal("a CAR refused for its root was sent to Kubo")
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Fatalf("hold file left behind: %v", left)
			}
		})
	}
}

func corruptFirstBlock(t *testing.T, root cid.Cid, bs []blocks.Block) []byte {
	t.Helper()
	data := carV1([]cid.Cid{root}, bs)
	i := bytes.Index(data, bs[0].RawData())
	data = bytes.Clone(data)
	data[i] ^= 0xff
	return data
}

// failingReader yields data, then fails as a broken-off upload does.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// An upload that breaks off is bad input (ErrBadCAR, an ErrInvalid), before or after the root
// block, not a failed call to Kubo.
func TestImportCARUnreadableInput(t *testing.T) {
	root, bs := testDAG(t, 32, 5, 1000)
	data := carV1([]cid.Cid{root}, bs)
	broken := errors.New("connection reset by client")
	for name, cut := range map[string]int{"during the scan": 100, "after the root block": len(data) - 500} {
		t.Run(name, func(t *testing.T) {
			rc := &recorder{answer: importAnswer}
			n := fakeKubo(t, map[string]http.HandlerFunc{"dag/import": rc.handler})
			_, err := n.ImportCAR(testCtx(t), &failingReader{r: bytes.NewReader(data[:cut]), err: broken})
			if !errors.Is(err, ipfs.ErrBadCAR) || !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), broken.Error()) {
				t.Fatalf("err = %v, want ErrBadCAR naming the read failure", err)
			}
		})
	}
}

// FuzzImportCAR: whatever the stream, ImportCAR never panics or hangs, and either succeeds with
// the CAR's root or fails with ErrBadCAR (an ErrInvalid).
func FuzzImportCAR(f *testing.F) {
	root, bs := testDAG(f, 33, 3, 100)
	other, _ := testDAG(f, 34, 1, 10)
	good := carV1([]cid.Cid{root}, bs)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(carV1(nil, bs))
	f.Add(carV1([]cid.Cid{other}, bs))
	f.Add([]byte("garbage"))
	rc := &recorder{answer: importAnswer}
	n := fakeKubo(f, map[string]http.HandlerFunc{"dag/import": rc.handler})
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := n.ImportCAR(ctx, bytes.NewReader(data))
		if ctx.Err() != nil {
			t.Fatalf("ImportCAR of %d bytes did not return in 10s", len(data))
		}
		if err != nil && !errors.Is(err, ipfs.ErrBadCAR) {
			t.Fatalf("error not wrapping ErrBadCAR: %v", err)
		}
		if err != nil && !errors.Is(err, api.ErrInvalid) {
			t.Fatalf("ErrBadCAR not an ErrInvalid: %v", err)
		}
		if err == nil && !c.Defined() {
			t.Fatal("success without a root")
		}
	})
}
