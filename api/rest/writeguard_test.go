package rest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// TestWriteGuardAnswersBeforeTheBody: with a guard that refuses (a follower), add and batch
// ingest answer 403 with the guard's message even when the client is still sending a body
// larger than net/http's own discard (256 KiB), and their handlers never run.
func TestWriteGuardAnswersBeforeTheBody(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	f := newFake(t)
	svc := f.services()
	svc.Guard = func(op string) error {
		return fmt.Errorf("%w: this peer is a follower: it cannot %s", api.ErrForbidden, op)
	}
	s, err := NewServer(cfg, svc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	parts := strings.Split(s.Addr().String(), "/")
	base := "http://" + parts[2] + ":" + parts[4]

	big := bytes.Repeat([]byte("x"), 2<<20)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "big.bin")
	fw.Write(big)
	mw.Close()
	for _, tc := range []struct {
		name, path, ctype, op string
		body                  []byte
	}{
		{"add", "/add", mw.FormDataContentType(), "add", mp.Bytes()},
		{"batch", batchPath + "?op=pin", "text/plain", "ingest pins", big},
	} {
		// A reader that hides its length: the body goes out chunked, as the CLI streams it.
		resp, err := http.Post(base+tc.path, tc.ctype, io.MultiReader(bytes.NewReader(tc.body)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantError(t, resp, http.StatusForbidden, "this peer is a follower: it cannot "+tc.op)
	}
	if f.called("Add") || f.called("Ingest") {
		t.Fatal("a refused write reached its handler")
	}

	// No guard, or a guard that allows: the handler runs.
	svc.Guard = func(string) error { return nil }
	s2, err := NewServer(cfg, svc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	resp := do(t, s2.Handler(), http.MethodPost, batchPath+"?op=pin", strings.NewReader(""))
	resp.Body.Close()
	if !f.called("Ingest") {
		t.Fatal("an allowed batch did not reach its handler")
	}
}
