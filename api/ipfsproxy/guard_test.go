package ipfsproxy

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// TestAddGuard: with a guard that refuses (a follower), add answers 403 with the guard's
// message and the Adder never runs.
func TestAddGuard(t *testing.T) {
	e := newEnv(t)
	d := e.srv.d
	d.Guard = func(op string) error {
		return fmt.Errorf("%w: this peer is a follower: it cannot %s", api.ErrForbidden, op)
	}
	srv, err := New(DefaultConfig(), d, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "a.txt")
	fw.Write([]byte("guarded"))
	mw.Close()
	w := e.do(http.MethodPost, "/api/v0/add", &body, mw.FormDataContentType())
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "this peer is a follower: it cannot add") {
		t.Fatalf("add on a follower: %d %s", w.Code, w.Body.String())
	}
	if e.adder.params.Name != "" || e.adder.params.Chunker != "" {
		t.Fatalf("the Adder ran: %+v", e.adder.params)
	}
}
