package monitor

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

func TestCollect(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	byName := func(ms []api.Metric) map[string]api.Metric {
		out := map[string]api.Metric{}
		for _, m := range ms {
			out[m.Name] = m
		}
		return out
	}
	cases := []struct {
		name    string
		cfg     InformerConfig
		free    uint64
		queue   int
		numpin  int
		pingTTL time.Duration
		want    map[string]api.Metric // Name, Value, Weight, Partitionable, Expire checked
		wantLen int
	}{
		{
			name: "defaults: ttl 30s, group tag", cfg: InformerConfig{}, free: 5000, queue: 3, numpin: 7, pingTTL: 10 * time.Second, wantLen: 5,
			want: map[string]api.Metric{
				"freespace": {Value: "5000", Weight: 5000, Expire: now.Add(30 * time.Second).UnixNano()},
				"pinqueue":  {Value: "3", Weight: -3, Expire: now.Add(30 * time.Second).UnixNano()},
				"numpin":    {Value: "7", Weight: -7, Expire: now.Add(30 * time.Second).UnixNano()},
				"ping":      {Value: "", Expire: now.Add(10 * time.Second).UnixNano()},
				"tag:group": {Value: "default", Partitionable: true, Expire: now.Add(30 * time.Second).UnixNano()},
			},
		},
		{
			name: "custom ttl and tags, no ping ttl", cfg: InformerConfig{MetricTTL: time.Minute, Tags: map[string]string{"region": "eu", "rack": "r1"}}, wantLen: 6,
			want: map[string]api.Metric{
				"freespace":  {Value: "0", Weight: 0, Expire: now.Add(time.Minute).UnixNano()},
				"ping":       {Expire: now.Add(30 * time.Second).UnixNano()},
				"tag:region": {Value: "eu", Partitionable: true, Expire: now.Add(time.Minute).UnixNano()},
				"tag:rack":   {Value: "r1", Partitionable: true, Expire: now.Add(time.Minute).UnixNano()},
			},
		},
		{
			name: "empty tags map publishes no tags", cfg: InformerConfig{Tags: map[string]string{}}, wantLen: 4,
			want: map[string]api.Metric{"pinqueue": {Value: "0", Weight: 0, Expire: now.Add(30 * time.Second).UnixNano()}},
		},
		{
			name: "node pins not counted yet: no numpin", numpin: -1, wantLen: 4,
			want: map[string]api.Metric{"pinqueue": {Value: "0", Weight: 0, Expire: now.Add(30 * time.Second).UnixNano()}},
		},
		{
			name: "huge free space caps the weight", free: math.MaxUint64, wantLen: 5,
			want: map[string]api.Metric{"freespace": {Value: "18446744073709551615", Weight: math.MaxInt64, Expire: now.Add(30 * time.Second).UnixNano()}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms := Collect(now, "self", tc.cfg, tc.free, tc.queue, tc.numpin, tc.pingTTL)
			if len(ms) != tc.wantLen {
				t.Fatalf("got %d metrics, want %d: %+v", len(ms), tc.wantLen, ms)
			}
			got := byName(ms)
			if _, ok := got["numpin"]; ok != (tc.numpin >= 0) {
				t.Fatalf("numpin published: %v, with numPin %d", ok, tc.numpin)
			}
			for _, m := range ms {
				if m.Peer != "self" || !m.Valid {
					t.Fatalf("metric %+v: want Peer=self and Valid", m)
				}
			}
			for name, w := range tc.want {
				g, ok := got[name]
				if !ok {
					t.Fatalf("no %s metric in %+v", name, ms)
				}
				if g.Value != w.Value || g.Weight != w.Weight || g.Partitionable != w.Partitionable || g.Expire != w.Expire {
					t.Fatalf("%s = %+v, want value %q weight %d partitionable %v expire %d", name, g, w.Value, w.Weight, w.Partitionable, w.Expire)
				}
			}
		})
	}
}

func TestConfigs(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{CheckInterval: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "monitor.check_interval") || !strings.Contains(err.Error(), "monitor.alert_history") {
		t.Fatalf("err = %v, want both keys named", err)
	}
	c := Default()
	if err := json.Unmarshal([]byte(`{"check_interval":"2s"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.CheckInterval != 2*time.Second || c.AlertHistory != 1000 {
		t.Fatalf("config = %+v", c)
	}
	if err := json.Unmarshal([]byte(`{"check_interval":"soon"}`), &c); err == nil || !strings.Contains(err.Error(), "check_interval") {
		t.Fatalf("err = %v", err)
	}
	if got := (Config{CheckInterval: 15 * time.Second}).tick(); got != time.Second {
		t.Fatalf("tick = %s, want 1s", got)
	}

	ic := DefaultInformerConfig()
	if err := ic.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"metric_ttl":"1m","tags":{"region":"eu"}}`), &ic); err != nil {
		t.Fatal(err)
	}
	if ic.MetricTTL != time.Minute || ic.Tags["region"] != "eu" || len(ic.Tags) != 1 {
		t.Fatalf("informer config = %+v", ic)
	}
	if err := (InformerConfig{MetricTTL: time.Second, Tags: map[string]string{"": "x"}}).Validate(); err == nil || !strings.Contains(err.Error(), "informer.tags") {
		t.Fatalf("err = %v", err)
	}
}
