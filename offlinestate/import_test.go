package offlinestate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
)

// exportBody is the pinset as `state export` writes it, without the header (it carries the
// export time).
func exportBody(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Export(context.Background(), dir, &buf); err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(buf.String(), "\n")
	return body
}

// storedPins decodes the exported pinset by CID.
func storedPins(t *testing.T, dir string) map[string]api.Pin {
	t.Helper()
	pins := map[string]api.Pin{}
	for _, l := range strings.Split(strings.TrimSpace(exportBody(t, dir)), "\n") {
		if l == "" {
			continue
		}
		var p api.Pin
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		pins[p.Cid.String()] = p
	}
	return pins
}

// setDefaults writes the cluster's default replication factors into dir's service.json.
func setDefaults(t *testing.T, dir string, mn, mx int) {
	t.Helper()
	cfg, err := servicejson.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cluster.ReplicationFactorMin, cfg.Cluster.ReplicationFactorMax = mn, mx
	if err := cfg.Save(dir); err != nil {
		t.Fatal(err)
	}
}

// The replication overrides of `state import` act as the replication parameters of POST /pins
// on the pin's own factors: one given alone adjusts the other as ApplyDefaults does, the
// result obeys api.CheckReplication, and an override that cannot make a valid pin is an error
// naming the flag, before anything is written. Factors a line leaves out take the cluster
// defaults, as on POST /pins.
func TestStateImportReplication(t *testing.T) {
	line := func(c api.Cid, factors string) string {
		return fmt.Sprintf(`{"cid":%q%s}`, c.String(), factors)
	}
	f := func(mn, mx int) string {
		return fmt.Sprintf(`,"replication_factor_min":%d,"replication_factor_max":%d`, mn, mx)
	}
	tests := []struct {
		name             string
		defMin, defMax   int // cluster defaults; 0 keeps -1/-1
		factors          string
		opts             ImportOptions
		wantMin, wantMax int
		wantErr          string
	}{
		{name: "no override", factors: f(2, 3), wantMin: 2, wantMax: 3},
		{name: "min alone on everywhere", factors: f(-1, -1), opts: ImportOptions{ReplicationMin: 2}, wantMin: 2, wantMax: 2},
		{name: "both", factors: f(-1, -1), opts: ImportOptions{ReplicationMin: 2, ReplicationMax: 3}, wantMin: 2, wantMax: 3},
		{name: "min alone within max", factors: f(1, 3), opts: ImportOptions{ReplicationMin: 2}, wantMin: 2, wantMax: 3},
		{name: "min alone over max", factors: f(1, 3), opts: ImportOptions{ReplicationMin: 5}, wantMin: 5, wantMax: 5},
		{name: "max alone under min", factors: f(2, 3), opts: ImportOptions{ReplicationMax: 1}, wantMin: 1, wantMax: 1},
		{name: "max alone on everywhere", factors: f(-1, -1), opts: ImportOptions{ReplicationMax: 3}, wantMin: 3, wantMax: 3},
		{name: "everywhere", factors: f(2, 3), opts: ImportOptions{ReplicationMin: -1, ReplicationMax: -1}, wantMin: -1, wantMax: -1},
		{name: "line without factors takes the defaults", wantMin: -1, wantMax: -1},
		{name: "line without factors, configured defaults", defMin: 2, defMax: 4, wantMin: 2, wantMax: 4},
		{name: "line without factors, min alone", factors: "", opts: ImportOptions{ReplicationMin: 2}, wantMin: 2, wantMax: 2},
		{name: "line with min alone", factors: `,"replication_factor_min":2`, wantMin: 2, wantMax: 2},

		{name: "min -1 alone on a positive pin", factors: f(1, 3), opts: ImportOptions{ReplicationMin: -1}, wantErr: "--replication-min and the pin's replication_factor_max must both be -1"},
		{name: "max -1 alone on a positive pin", factors: f(1, 3), opts: ImportOptions{ReplicationMax: -1}, wantErr: "the pin's replication_factor_min and --replication-max must both be -1"},
		{name: "min over max", factors: f(-1, -1), opts: ImportOptions{ReplicationMin: 3, ReplicationMax: 1}, wantErr: "--replication-min (3) is greater than --replication-max (1)"},
		{name: "negative override", factors: f(-1, -1), opts: ImportOptions{ReplicationMin: -5}, wantErr: "--replication-min (-5)"},
		{name: "invalid line under a valid override", factors: f(-5, 3), opts: ImportOptions{ReplicationMin: 2, ReplicationMax: 2}, wantErr: "replication_factor_min (-5)"},
		{name: "line's -1 meets a positive default", defMin: 1, defMax: 3, factors: `,"replication_factor_min":-1`, wantErr: "cluster default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			initDir(t, dir)
			if tc.defMin != 0 {
				setDefaults(t, dir, tc.defMin, tc.defMax)
			}
			ctx := context.Background()
			old := line(testCid(t, "old"), f(-1, -1))
			if err := Import(ctx, dir, strings.NewReader(old+"\n"), ImportOptions{}, nil); err != nil {
				t.Fatal(err)
			}
			before := exportBody(t, dir)
			c := testCid(t, "new")
			in := `{"pincluster_state":1}` + "\n" + line(testCid(t, "other"), f(-1, -1)) + "\n" + line(c, tc.factors) + "\n"
			err := Import(ctx, dir, strings.NewReader(in), tc.opts, nil)
			if tc.wantErr != "" {
				if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid mentioning %q", err, tc.wantErr)
				}
				if after := exportBody(t, dir); after != before {
					t.Fatalf("a refused import changed the pinset:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pins := storedPins(t, dir)
			p, ok := pins[c.String()]
			if !ok || len(pins) != 2 {
				t.Fatalf("pinset after import: %v", pins)
			}
			if p.ReplicationFactorMin != tc.wantMin || p.ReplicationFactorMax != tc.wantMax {
				t.Fatalf("stored %d/%d, want %d/%d", p.ReplicationFactorMin, p.ReplicationFactorMax, tc.wantMin, tc.wantMax)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("stored an invalid pin: %v", err)
			}
		})
	}
}

// The QA cases: each bad line fails the whole import with one error naming its line, and the
// pinset stays as it was.
func TestStateImportRefusesBadLines(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	ctx := context.Background()
	good := fmt.Sprintf(`{"cid":%q,"replication_factor_min":-1,"replication_factor_max":-1}`, testCid(t, "a"))
	if err := Import(ctx, dir, strings.NewReader(good+"\n"), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	before := exportBody(t, dir)
	c := testCid(t, "x").String()
	for bad, want := range map[string]string{
		fmt.Sprintf(`{"cid":%q,"replication_factor_min":-5,"replication_factor_max":3}`, c): "replication_factor_min (-5)",
		fmt.Sprintf(`{"cid":%q,"foo":1}`, c):                                                `unknown key "foo"`,
		fmt.Sprintf(`{"cid":%q,"Name":"x"}`, c):                                             `did you mean "name"`,
		fmt.Sprintf(`{"cid":%q,"mode":"recursive","max_depth":0}`, c):                       "contradicts",
	} {
		in := `{"pincluster_state":1}` + "\n" + good + "\n" + bad + "\n"
		err := Import(ctx, dir, strings.NewReader(in), ImportOptions{}, nil)
		if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want ErrInvalid naming line 3 and %q", bad, err, want)
		}
		if after := exportBody(t, dir); after != before {
			t.Fatalf("%s: a refused import changed the pinset:\nbefore:\n%s\nafter:\n%s", bad, before, after)
		}
	}
}

// A line with only a CID is stored as POST /pins would store the CID: recursive with max_depth
// -1, type pin, the cluster's replication factors, stamped with the import time.
func TestStateImportDefaults(t *testing.T) {
	dir := t.TempDir()
	initDir(t, dir)
	c := testCid(t, "a")
	start := time.Now()
	if err := Import(context.Background(), dir, strings.NewReader(fmt.Sprintf(`{"cid":%q}`+"\n", c)), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	p := storedPins(t, dir)[c.String()]
	want := api.NewPin(c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	want.Timestamp = p.Timestamp
	gotJS, _ := api.MarshalPin(&p)
	wantJS, _ := api.MarshalPin(&want)
	if string(gotJS) != string(wantJS) {
		t.Fatalf("stored %s\n  want %s", gotJS, wantJS)
	}
	if p.Timestamp.Before(start.Add(-time.Second)) || p.Timestamp.After(time.Now().Add(time.Second)) {
		t.Fatalf("timestamp %v is not the import time", p.Timestamp)
	}
}

// Export, import elsewhere, export again: the same bytes, for every kind of valid pin.
func TestStateExportImportRoundTripIsByteIdentical(t *testing.T) {
	ctx := context.Background()
	src, dst := t.TempDir(), t.TempDir()
	initDir(t, src)
	initDir(t, dst)
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2025, 6, 7, 8, 9, 10, 11, time.UTC)
	ref := testCid(t, "ref")
	pins := []api.Pin{
		api.NewPin(testCid(t, "a"), api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1}),
		api.NewPin(testCid(t, "b"), api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 2, Name: "b <&>", Mode: api.PinModeDirect,
			Metadata: map[string]string{"k": "v", "a": "é"}, ExpireAt: ts.Add(time.Hour), UserAllocations: []libp2ppeer.ID{ident.ID},
			PinUpdate: testCid(t, "a"), Origins: []string{"/ip4/127.0.0.1/tcp/4001"}}),
	}
	pins[1].Allocations = []libp2ppeer.ID{ident.ID}
	shard := api.NewPin(testCid(t, "c"), api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1, Name: "x-shard-0"})
	shard.Type, shard.MaxDepth, shard.Reference, shard.Allocations = api.PinTypeShard, 1, &ref, []libp2ppeer.ID{ident.ID}
	pins = append(pins, shard)
	var in strings.Builder
	in.WriteString(`{"pincluster_state":1,"pins":3}` + "\n")
	for i := range pins {
		pins[i].Timestamp = ts
		js, err := api.MarshalPin(&pins[i])
		if err != nil {
			t.Fatal(err)
		}
		in.Write(js)
		in.WriteByte('\n')
	}
	if err := Import(ctx, src, strings.NewReader(in.String()), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	var exp bytes.Buffer
	if err := Export(ctx, src, &exp); err != nil {
		t.Fatal(err)
	}
	if err := Import(ctx, dst, bytes.NewReader(exp.Bytes()), ImportOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	first, second := exportBody(t, src), exportBody(t, dst)
	if first != second {
		t.Fatalf("export, import, export changed the pins:\n%s\n%s", first, second)
	}
	for _, l := range strings.Split(strings.TrimSpace(in.String()), "\n")[1:] {
		if !strings.Contains(first, l+"\n") {
			t.Fatalf("imported pin changed: %s not in\n%s", l, first)
		}
	}
}
