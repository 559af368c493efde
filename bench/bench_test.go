package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunEndToEnd builds the binary and runs the whole bench with tiny numbers: it checks the
// program works, never how fast anything is.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts a daemon; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "pincluster")
	build := exec.Command("go", "build", "-o", bin, "github.com/pincluster/pincluster/cmd/pincluster")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o := options{bin: bin, total: 2000, ingest: 500, clients: 4, lists: 2}
	res, err := run(ctx, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ingestFirst.pins != 500 || res.ingestRest.pins != 1500 {
		t.Errorf("ingested %d + %d pins, want 500 + 1500", res.ingestFirst.pins, res.ingestRest.pins)
	}
	if res.list.pins != 2000 || len(res.listRuns) != 2 {
		t.Errorf("listing: %d pins in %d runs, want 2000 in 2", res.list.pins, len(res.listRuns))
	}
	if res.rss <= 0 || res.rawWrite <= 0 || res.rawIterate <= 0 || res.avgPinJSON <= 0 {
		t.Errorf("missing figures: %+v", res)
	}
	var out bytes.Buffer
	printTable(&out, o, res)
	for _, want := range []string{"ingest POST /pins", "list GET /allocations", "daemon RSS", "raw badger iterate", "reproduce:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunMissingBinary(t *testing.T) {
	_, err := run(context.Background(), options{bin: filepath.Join(t.TempDir(), "nope"), total: 1, ingest: 1, clients: 1, lists: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("err = %v, want one that says to run make build", err)
	}
}

func TestSetJSONKey(t *testing.T) {
	doc := []byte(`{"pin_tracker":{"max_pin_queue_size":1000000,"concurrent_pins":10},"api":{"restapi":{"max_add_bytes":68719476736}}}`)
	tests := []struct {
		name    string
		path    []string
		wantErr bool
	}{
		{"existing key", []string{"pin_tracker", "max_pin_queue_size"}, false},
		{"missing section", []string{"tracker", "max_pin_queue_size"}, true},
		{"missing key", []string{"pin_tracker", "queue"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := setJSONKey(doc, tt.path, 2000000)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var got struct {
				PinTracker map[string]int64 `json:"pin_tracker"`
				API        struct {
					RestAPI map[string]int64 `json:"restapi"`
				} `json:"api"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if got.PinTracker["max_pin_queue_size"] != 2000000 || got.PinTracker["concurrent_pins"] != 10 ||
				got.API.RestAPI["max_add_bytes"] != 68719476736 {
				t.Errorf("edited config = %s", out)
			}
		})
	}
}

func TestHTTPBase(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"/ip4/127.0.0.1/tcp/9094", "http://127.0.0.1:9094", false},
		{"/ip6/::1/tcp/9094", "http://[::1]:9094", false},
		{"/ip4/127.0.0.1/udp/9094", "", true},
		{"/ip4/127.0.0.1/tcp/x", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		got, err := httpBase(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("httpBase(%q) = %q, %v; want %q (err %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCIDGenDistinct(t *testing.T) {
	g := newCIDGen()
	seen := map[string]bool{}
	for i := range 1000 {
		c := g.at(i)
		if seen[c] || !strings.HasPrefix(c, "bafkrei") {
			t.Fatalf("cid %d = %q (duplicate or not CIDv1 raw sha256)", i, c)
		}
		seen[c] = true
	}
}
