package rpcwire

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/internal/wirepb"
)

// SyncRequest.held (field 4) is compatible both ways: a request of a peer that predates it
// (the v1 golden) decodes with no held ranges, and the new form is the old one plus field 4,
// which an older responder skips as an unknown field.
func TestSyncRequestHeldCompat(t *testing.T) {
	v1, err := os.ReadFile(filepath.Join("testdata", "golden", "pincluster.SyncRequest.v1.bin"))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadFile(filepath.Join("testdata", "golden", "pincluster.SyncRequest.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var old wirepb.SyncRequest
	if err := proto.Unmarshal(v1, &old); err != nil {
		t.Fatal(err)
	}
	if len(old.Held) != 0 || len(old.Vv) == 0 {
		t.Fatalf("v1 request decoded as %v", &old)
	}
	var now wirepb.SyncRequest
	if err := proto.Unmarshal(cur, &now); err != nil {
		t.Fatal(err)
	}
	if len(now.Held) == 0 {
		t.Fatal("current golden carries no held ranges")
	}
	now.Held = nil
	stripped, err := proto.MarshalOptions{Deterministic: true}.Marshal(&now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stripped, v1) {
		t.Fatalf("without held, the request is not its v1 form:\n%x\n%x", stripped, v1)
	}
}
