package persistence

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

var importNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// decodeImportPin refuses what a pin line may not hold and completes a partial line with the
// defaults a pin posted to the REST API gets.
func TestDecodeImportPin(t *testing.T) {
	c, ref := mkCid(t, 1), mkCid(t, 2)
	ts := time.Unix(1700000000, 0).UTC()
	line := func(fields string) string { return fmt.Sprintf(`{"cid":%q%s}`, c.String(), fields) }
	tests := []struct {
		name    string
		in      string
		legacy  bool
		wantErr string // "" for success
		check   func(t *testing.T, p api.Pin)
	}{
		{name: "cid only: recursive, -1, type pin, allocations [], timestamp now", in: line(""), check: func(t *testing.T, p api.Pin) {
			if p.Mode != api.PinModeRecursive || p.MaxDepth != -1 || p.Type != api.PinTypeData || p.Allocations == nil || len(p.Allocations) != 0 || !p.Timestamp.Equal(importNow) {
				t.Fatalf("defaults: %+v", p)
			}
			if p.ReplicationFactorMin != 0 || p.ReplicationFactorMax != 0 {
				t.Fatalf("replication factors left for the cluster defaults, got %d/%d", p.ReplicationFactorMin, p.ReplicationFactorMax)
			}
		}},
		{name: "direct without max_depth", in: line(`,"mode":"direct"`), check: wantDepth(api.PinModeDirect, 0)},
		{name: "null max_depth is absent", in: line(`,"max_depth":null`), check: wantDepth(api.PinModeRecursive, -1)},
		{name: "max_depth 0 without mode", in: line(`,"max_depth":0`), check: wantDepth(api.PinModeDirect, 0)},
		{name: "max_depth 1 without mode", in: line(`,"max_depth":1,"type":"shard-pin"`), check: wantDepth(api.PinModeRecursive, 1)},
		{name: "zero timestamp is now", in: line(`,"timestamp":"0001-01-01T00:00:00Z"`), check: func(t *testing.T, p api.Pin) {
			if !p.Timestamp.Equal(importNow) {
				t.Fatalf("timestamp %v", p.Timestamp)
			}
		}},
		{name: "timestamp kept", in: line(`,"timestamp":"2023-11-14T22:13:20Z"`), check: func(t *testing.T, p api.Pin) {
			if !p.Timestamp.Equal(ts) {
				t.Fatalf("timestamp %v", p.Timestamp)
			}
		}},
		{name: "empty reference is none", in: line(`,"reference":""`), check: func(t *testing.T, p api.Pin) {
			if p.Reference != nil {
				t.Fatalf("reference %v", p.Reference)
			}
		}},
		{name: "CID objects", in: fmt.Sprintf(`{"cid":{"/":%q},"reference":{"/":%q}}`, c, ref), check: func(t *testing.T, p api.Pin) {
			if p.Cid != c || p.Reference == nil || *p.Reference != ref {
				t.Fatalf("%+v", p)
			}
		}},
		{name: "factors kept for Validate to judge", in: line(`,"replication_factor_min":-5,"replication_factor_max":3`), check: func(t *testing.T, p api.Pin) {
			if p.ReplicationFactorMin != -5 || p.Validate() == nil {
				t.Fatalf("%+v: Validate must refuse it", p.PinOptions)
			}
		}},

		{name: "unknown key", in: line(`,"foo":1`), wantErr: `unknown key "foo"`},
		{name: "wrongly-cased key", in: line(`,"Name":"x"`), wantErr: `did you mean "name"`},
		{name: "wrongly-cased cid", in: fmt.Sprintf(`{"CID":%q}`, c), wantErr: `did you mean "cid"`},
		{name: "key twice", in: line(`,"name":"a","name":"b"`), wantErr: `"name" appears twice`},
		{name: "shard_size is IPFS Cluster's only", in: line(`,"shard_size":0`), wantErr: `unknown key "shard_size"`},
		{name: "numeric type is IPFS Cluster's only", in: line(`,"type":2`), wantErr: "bad pin JSON"},
		{name: "unknown type", in: line(`,"type":"foo"`), wantErr: `type "foo" is not a pin type`},
		{name: "mode contradicts max_depth", in: line(`,"mode":"recursive","max_depth":0`), wantErr: "contradicts"},
		{name: "direct with max_depth -1", in: line(`,"mode":"direct","max_depth":-1`), wantErr: "contradicts"},
		{name: "max_depth below -1", in: line(`,"max_depth":-2`), wantErr: "max_depth (-2)"},
		{name: "bad mode", in: line(`,"mode":"sideways"`), wantErr: "unknown pin mode"},
		{name: "CID object with another key", in: fmt.Sprintf(`{"cid":{"/":%q,"x":1}}`, c), wantErr: `not one with key "x"`},
		{name: "no cid", in: `{"name":"x"}`, wantErr: "no cid"},
		{name: "not an object", in: `[1]`, wantErr: "got an array"},
		{name: "trailing value", in: line("") + "1", wantErr: "more than one value"},
		{name: "wrong value type", in: line(`,"name":1`), wantErr: "bad pin JSON"},

		{name: "IPFS Cluster pin", legacy: true, in: fmt.Sprintf(`{"cid":{"/":%q},"type":2,"allocations":null,"max_depth":-1,"reference":null,"replication_factor_min":-1,"replication_factor_max":-1,"name":"old","mode":"recursive","shard_size":0,"user_allocations":null,"expire_at":"0001-01-01T00:00:00Z","metadata":null,"pin_update":null,"origins":[],"timestamp":"2023-11-14T22:13:20Z"}`, c),
			check: func(t *testing.T, p api.Pin) {
				if p.Type != api.PinTypeData || p.Name != "old" || !p.Timestamp.Equal(ts) || p.MaxDepth != -1 || p.Allocations == nil {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "IPFS Cluster cluster-DAG pin: max_depth decides", legacy: true, in: line(`,"type":8,"max_depth":0,"mode":"recursive"`), check: wantDepth(api.PinModeDirect, 0)},
		{name: "IPFS Cluster pin before the mode field", legacy: true, in: line(`,"type":2,"max_depth":0`), check: wantDepth(api.PinModeDirect, 0)},
		{name: "headerless pincluster pin", legacy: true, in: line(`,"type":"shard-pin","max_depth":1`), check: func(t *testing.T, p api.Pin) {
			if p.Type != api.PinTypeShard || p.MaxDepth != 1 {
				t.Fatalf("%+v", p)
			}
		}},
		{name: "IPFS Cluster: unknown key", legacy: true, in: line(`,"type":2,"foo":1`), wantErr: `unknown key "foo"`},
		{name: "IPFS Cluster: wrongly-cased key", legacy: true, in: line(`,"Type":2`), wantErr: `did you mean "type"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decodeImportPin([]byte(tc.in), tc.legacy, importNow)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
		})
	}
}

func wantDepth(mode api.PinMode, depth int) func(*testing.T, api.Pin) {
	return func(t *testing.T, p api.Pin) {
		t.Helper()
		if p.Mode != mode || p.MaxDepth != depth {
			t.Fatalf("mode %s max_depth %d, want %s %d", p.Mode, p.MaxDepth, mode, depth)
		}
	}
}

// A pin as pincluster stores it decodes to the same bytes: import does not touch valid pins.
func TestDecodeImportPinKeepsStoredPins(t *testing.T) {
	ref := mkCid(t, 9)
	pins := []api.Pin{
		api.NewPin(mkCid(t, 1), api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1}),
		api.NewPin(mkCid(t, 2), api.PinOptions{ReplicationFactorMin: 2, ReplicationFactorMax: 3, Name: "n<&>",
			Mode: api.PinModeDirect, Metadata: map[string]string{"b": "2", "a": "1"}, ExpireAt: time.Date(2030, 1, 1, 0, 0, 0, 5, time.FixedZone("x", 3600)),
			UserAllocations: []peer.ID{newPeer(t, 3)}, PinUpdate: mkCid(t, 8), Origins: []string{"/ip4/1.2.3.4/tcp/4001"}}),
	}
	shard := api.NewPin(mkCid(t, 3), api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1})
	shard.Type, shard.MaxDepth, shard.Reference = api.PinTypeShard, 1, &ref
	shard.Allocations = []peer.ID{newPeer(t, 1), newPeer(t, 2)}
	pins = append(pins, shard)
	for i := range pins {
		pins[i].Timestamp = time.Unix(1700000000, 123).UTC()
		want, err := api.MarshalPin(&pins[i])
		if err != nil {
			t.Fatal(err)
		}
		p, err := decodeImportPin(want, false, importNow)
		if err != nil {
			t.Fatalf("%s: %v", want, err)
		}
		got, _ := api.MarshalPin(&p)
		if string(got) != string(want) {
			t.Fatalf("decoded differently:\n got %s\nwant %s", got, want)
		}
	}
}

// ImportWith refuses a line that breaks the rules of POST /pins, or that prepare refuses,
// naming the line, and leaves the pinset as it was: nothing is applied, mkOp is not called.
func TestImportWithRefusesInvalidPins(t *testing.T) {
	c := mkCid(t, 20)
	good := fmt.Sprintf(`{"cid":%q,"replication_factor_min":-1,"replication_factor_max":-1}`, mkCid(t, 21))
	refuse2 := func(p *api.Pin) error {
		if p.ReplicationFactorMin == 2 {
			return fmt.Errorf("%w: prepare says no", api.ErrInvalid)
		}
		return nil
	}
	tests := []struct {
		name    string
		bad     string
		prepare func(*api.Pin) error
		wantMsg string
	}{
		{"negative min", fmt.Sprintf(`{"cid":%q,"replication_factor_min":-5,"replication_factor_max":3}`, c), nil, "replication_factor_min (-5)"},
		{"min 2 with max -1", fmt.Sprintf(`{"cid":%q,"replication_factor_min":2,"replication_factor_max":-1}`, c), nil, "both be -1"},
		{"min over max", fmt.Sprintf(`{"cid":%q,"replication_factor_min":3,"replication_factor_max":2}`, c), nil, "greater than"},
		{"unknown key", fmt.Sprintf(`{"cid":%q,"foo":1}`, c), nil, `unknown key "foo"`},
		{"wrongly-cased key", fmt.Sprintf(`{"cid":%q,"Replication_Factor_Min":2}`, c), nil, "case-sensitive"},
		{"refused by prepare", fmt.Sprintf(`{"cid":%q,"replication_factor_min":2,"replication_factor_max":2}`, c), refuse2, "prepare says no"},
		{"made invalid by prepare", good, func(p *api.Pin) error { p.ReplicationFactorMax = -7; return nil }, "once completed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTemp(t)
			origin := newPeer(t, 1)
			for i := 1; i <= 3; i++ {
				mustApply(t, s, pinOp(t, origin, uint64(i), crdt.HLC(i), mkCid(t, i), fmt.Sprintf("old%d", i)))
			}
			before := dumpPins(t, s)
			in := `{"pincluster_state":1}` + "\n" + good + "\n\n" + tc.bad + "\n"
			wantLine := "line 4"
			if tc.bad == good {
				wantLine = "line 2"
			}
			called := false
			n, err := s.ImportWith(t.Context(), strings.NewReader(in), tc.prepare, func(p api.Pin) crdt.Op {
				called = true
				return pinOp(t, origin, 100, 100, p.Cid, p.Name)
			})
			if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), wantLine) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v; want ErrInvalid naming %s and %q", err, wantLine, tc.wantMsg)
			}
			if n != 0 || called {
				t.Fatalf("a refused file imported %d pins (mkOp called: %v)", n, called)
			}
			if after := dumpPins(t, s); after != before {
				t.Fatalf("pinset changed by a refused import:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// ImportWith stores the pin prepare completed.
func TestImportWithAppliesPrepare(t *testing.T) {
	s, _ := openTemp(t)
	c := mkCid(t, 30)
	in := fmt.Sprintf("{\"pincluster_state\":1,\"pins\":1}\n{\"cid\":%q}\n", c)
	var staged api.Pin
	n, err := s.ImportWith(t.Context(), strings.NewReader(in), func(p *api.Pin) error {
		p.ReplicationFactorMin, p.ReplicationFactorMax = 2, 2
		return nil
	}, func(p api.Pin) crdt.Op {
		staged = p
		return pinOp(t, newPeer(t, 1), 1, 1, p.Cid, p.Name)
	})
	if err != nil || n != 1 {
		t.Fatalf("imported %d: %v", n, err)
	}
	if staged.ReplicationFactorMin != 2 || staged.ReplicationFactorMax != 2 || staged.MaxDepth != -1 || staged.Timestamp.IsZero() {
		t.Fatalf("staged pin %+v", staged)
	}
}

func TestImportHeaderIsStrict(t *testing.T) {
	good := fmt.Sprintf(`{"cid":%q}`, mkCid(t, 1))
	for in, want := range map[string]string{
		`{"pincluster_state":1,"foo":1}`:             `unknown key "foo"`,
		`{"pincluster_state":1,"Pins":1}`:            `unknown key "Pins"`,
		`{"Pincluster_State":1}`:                     "no \"pincluster_state\"",
		`{"pincluster_state":1,"exported_at":"now"}`: "exported_at",
	} {
		s, _ := openTemp(t)
		_, err := s.Import(t.Context(), strings.NewReader(in+"\n"+good+"\n"), opMaker(t, newPeer(t, 1), s))
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want ErrInvalid naming line 1 and %q", in, err, want)
		}
	}
}

// FuzzDecodeImportPin: whatever a line holds, the decoder does not panic, and a pin it accepts
// is complete and imports again, once exported, as the same bytes.
func FuzzDecodeImportPin(f *testing.F) {
	c := mkCid(f, 1)
	f.Add(fmt.Sprintf(`{"cid":%q}`, c), false)
	f.Add(fmt.Sprintf(`{"cid":{"/":%q},"type":2,"allocations":null,"max_depth":0,"mode":"recursive","shard_size":0,"timestamp":"2023-01-01T00:00:00Z"}`, c), true)
	f.Add(fmt.Sprintf(`{"cid":%q,"name":"x","metadata":{"a":"b"},"mode":"direct","reference":"","expire_at":"2030-01-01T00:00:00+01:00"}`, c), false)
	f.Add(fmt.Sprintf(`{"cid":%q,"Name":"x","name":"y"}`, c), false)
	f.Add(fmt.Sprintf(`{"cid":%q,"replication_factor_min":-5,"max_depth":-2}`, c), false)
	f.Add(`{"cid":{"/":""}}`, true)
	f.Add(`[]`, false)
	f.Fuzz(func(t *testing.T, line string, legacy bool) {
		p, err := decodeImportPin([]byte(line), legacy, importNow)
		if err != nil {
			return
		}
		if !p.Cid.Defined() || p.Allocations == nil || p.Timestamp.IsZero() || p.MaxDepth < -1 || p.Type == "" {
			t.Fatalf("incomplete pin %+v", p)
		}
		if (p.Mode == api.PinModeDirect) != (p.MaxDepth == 0) {
			t.Fatalf("mode %s with max_depth %d", p.Mode, p.MaxDepth)
		}
		js, err := api.MarshalPin(&p)
		if err != nil {
			return // a time JSON cannot hold: validateImport refuses the line
		}
		q, err := decodeImportPin(js, false, importNow.Add(time.Hour))
		if err != nil {
			t.Fatalf("exported pin %s does not import: %v", js, err)
		}
		if js2, _ := api.MarshalPin(&q); string(js2) != string(js) {
			t.Fatalf("re-import changed the pin:\n%s\n%s", js, js2)
		}
	})
}

// An import stages the file beside the store, not in /tmp, and removes a stage a killed
// import left there; it leaves none of its own.
func TestImportStagesBesideTheStore(t *testing.T) {
	root := t.TempDir()
	s, err := Open(Options{Dir: filepath.Join(root, "pinset")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stale := filepath.Join(root, ".pincluster-import-123.jsonl")
	if err := os.WriteFile(stale, []byte("left by a kill -9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, 1)
	seq := uint64(0)
	mkOp := func(pin api.Pin) crdt.Op {
		seq++
		b, _ := api.MarshalPin(&pin)
		return crdt.Op{Origin: p, Seq: seq, Clock: crdt.HLC(seq), Kind: crdt.OpPin, Cid: pin.Cid, PinJSON: b}
	}
	in := fmt.Sprintf("{\"pincluster_state\":1}\n{\"cid\":%q}\n", mkCid(t, 1))
	if n, err := s.Import(context.Background(), strings.NewReader(in), mkOp); err != nil || n != 1 {
		t.Fatalf("import: %d, %v", n, err)
	}
	if left, _ := filepath.Glob(filepath.Join(root, ".pincluster-import-*")); len(left) != 0 {
		t.Fatalf("staging files left: %v", left)
	}
}
