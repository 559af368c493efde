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

// TestRunEndToEnd builds the binary and runs every suite (-suite all) with tiny numbers: it
// checks the program works, never how fast anything is.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts daemons; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "pincluster")
	build := exec.Command("go", "build", "-o", bin, "github.com/pincluster/pincluster/cmd/pincluster")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	o := defaultOptions()
	o.bin, o.total, o.ingest, o.clients, o.lists, o.settle = bin, 2000, 500, 4, 2, time.Second
	o.cluster = clusterOptions{peers: 3, pins: 500, every: 10, pollers: 2, catchup: 1500, wait: 60 * time.Second}
	o.alloc = allocOptions{peers: 20, groups: 5, cids: 500, repl: 3, rounds: 1}
	o.repin = repinOptions{peers: 4, pins: 100, files: 6, repl: 2, wait: 60 * time.Second}
	sr, err := runSuites(ctx, o, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	res := sr.single
	if res == nil || sr.cluster == nil || sr.decisions == nil || sr.repin == nil {
		t.Fatalf("missing suite results: %+v", sr)
	}
	if res.ingestFirst.pins != 500 || res.ingestRest.pins != 1500 {
		t.Errorf("ingested %d + %d pins, want 500 + 1500", res.ingestFirst.pins, res.ingestRest.pins)
	}
	if res.lookup.exact <= 0 || res.lookup.partial.pins != 1 {
		t.Errorf("lookups: %+v, want an exact lookup timed and one partial match", res.lookup)
	}
	if res.list.pins != 2000 || len(res.listRuns) != 2 {
		t.Errorf("listing: %d pins in %d runs, want 2000 in 2", res.list.pins, len(res.listRuns))
	}
	if res.rss <= 0 || res.rawWrite <= 0 || res.rawIterate <= 0 || res.avgPinJSON <= 0 {
		t.Errorf("missing figures: %+v", res)
	}
	cl := sr.cluster
	if !cl.soloReused || cl.ingest.pins != 500 || cl.rawHTTP <= 0 {
		t.Errorf("cluster ingest: %+v (want the single suite's 500-pin ingest reused as baseline)", cl)
	}
	if cl.conv.samples != 50 || cl.conv.missing != 0 || cl.conv.p99 <= 0 {
		t.Errorf("convergence: %+v, want 50 samples all seen", cl.conv)
	}
	if cu := cl.catchup; !cu.done || cu.reached != 1500 || cu.elapsed <= 0 || len(cu.cpu) != 4 || cu.rss <= 0 {
		t.Errorf("catch-up: %+v, want 1500 pins reached", cu)
	}
	if d := sr.decisions; d.fresh <= 0 || d.snapshot <= 0 || d.copyOnly <= 0 || !d.spread {
		t.Errorf("decisions: %+v", d)
	}
	if r := sr.repin; r.files1.filesOnVictim == 0 || !r.files1.reallocDone || !r.files1.pinnedDone || !r.pins2.reallocDone || r.pins2.onVictim == 0 {
		t.Errorf("self-healing: %+v", r)
	}
	var out bytes.Buffer
	printAll(&out, o, sr)
	for _, want := range []string{"ingest POST /pins", "list GET /allocations", "status --local GET /pins", "daemon RSS", "raw badger iterate",
		"convergence to peers 2+3", "fresh peer catches up", "CPU used meanwhile", "allocation decisions", "PINNED", "reproduce: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	t.Log(out.String())
}

// testWriter sends progress lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestSuiteSet(t *testing.T) {
	for _, tt := range []struct {
		name                   string
		single, cluster, alloc bool
		wantErr                bool
	}{
		{"all", true, true, true, false},
		{"single", true, false, false, false},
		{"cluster", false, true, false, false},
		{"alloc", false, false, true, false},
		{"clusters", false, false, false, true},
	} {
		s, c, a, err := suiteSet(tt.name)
		if (err != nil) != tt.wantErr || s != tt.single || c != tt.cluster || a != tt.alloc {
			t.Errorf("suiteSet(%q) = %v %v %v %v", tt.name, s, c, a, err)
		}
	}
}

func TestRunDecisions(t *testing.T) {
	d, err := runDecisions(allocOptions{peers: 10, groups: 5, cids: 200, repl: 3, rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if d.fresh <= 0 || d.snapshot <= 0 || d.copyOnly <= 0 || !d.spread {
		t.Fatalf("decisions: %+v", d)
	}
	if _, err := runDecisions(allocOptions{peers: 2, groups: 1, cids: 1, repl: 3, rounds: 1}); err == nil {
		t.Fatal("3 replicas over 2 peers: want an error")
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

// The catch-up target: 60 s per million pins, at most 5 minutes (the 10M target).
func TestCatchupTarget(t *testing.T) {
	for pins, want := range map[int]time.Duration{
		100_000:    6 * time.Second,
		1_000_000:  time.Minute,
		5_000_000:  5 * time.Minute,
		10_000_000: 5 * time.Minute,
	} {
		if got := catchupTarget(pins); got != want {
			t.Errorf("catchupTarget(%d) = %s, want %s", pins, got, want)
		}
	}
}
