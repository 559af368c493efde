package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
)

func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("the Prometheus text parser refuses /metrics: %v", err)
	}
	return fams
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.GetMetric() {
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no %s with labels %v", name, labels)
	return 0
}

// A scrape parses with Prometheus's own parser and carries IPFS Cluster's names, the peer's
// state, the event metrics and Go's; the state is read once per reporting interval.
func TestScrape(t *testing.T) {
	var reads atomic.Int32
	src := Sources{Read: func(context.Context) (State, error) {
		reads.Add(1)
		return State{Pins: 1234, Tracked: map[api.TrackerStatus]int64{api.TrackerStatusPinned: 1000, api.TrackerStatusPinQueued: 30, api.TrackerStatusRemote: 200},
			QueuePriority: 10, QueueNormal: 20, Peers: 3, Alerts: 1, StoreLSM: 1 << 20, Connections: 7, Links: 4}, nil
	}}
	cfg := DefaultConfig()
	cfg.ReportingInterval = config.Duration(time.Hour)
	s, err := New(cfg, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	OpsCommitted.WithLabelValues("local").Add(5)
	PinDuration.WithLabelValues("pin", "ok").Observe(0.2)
	fams := scrape(t, s.Handler())
	for name, want := range map[string]float64{
		"ipfscluster_cluster_pin_count":           1234,
		"ipfscluster_pintracker_pin_count":        1030,
		"ipfscluster_pintracker_pin_queued_count": 30,
		"ipfscluster_pintracker_pin_error_count":  0,
		"ipfscluster_cluster_peers":               3,
		"pincluster_alerts":                       1,
	} {
		if got := value(t, fams, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := value(t, fams, "pincluster_connections", "kind", "links"); got != 4 {
		t.Errorf("links %v", got)
	}
	if got := value(t, fams, "pincluster_connections", "kind", "all"); got != 7 {
		t.Errorf("connections %v", got)
	}
	if got := value(t, fams, "pincluster_queue_depth", "queue", "normal"); got != 20 {
		t.Errorf("normal queue depth %v", got)
	}
	if got := value(t, fams, "pincluster_pinset_ops_committed_total", "origin", "local"); got < 5 {
		t.Errorf("ops committed %v", got)
	}
	if got := value(t, fams, "pincluster_pin_duration_seconds", "op", "pin", "result", "ok"); got < 1 {
		t.Errorf("pin durations observed %v", got)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	scrape(t, s.Handler())
	if n := reads.Load(); n != 1 {
		t.Errorf("two scrapes within the reporting interval read the state %d times, want 1", n)
	}
}

func TestConfig(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := DefaultConfig()
	bad.PrometheusEndpoint = "/ip4/127.0.0.1/udp/8888"
	if err := bad.Validate(); err == nil {
		t.Fatal("a UDP endpoint was accepted")
	}
	bad = DefaultConfig()
	bad.ReportingInterval = 0
	if err := bad.Validate(); err == nil {
		t.Fatal("a zero reporting interval was accepted")
	}
}

// Start serves on a real port; Shutdown stops it.
func TestServe(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PrometheusEndpoint = "/ip4/127.0.0.1/tcp/0"
	s, err := New(cfg, Sources{Read: func(context.Context) (State, error) { return State{Pins: 7}, nil }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Every pincluster and ipfscluster metric the Grafana dashboard charts is one we export.
func TestDashboardMetricsExist(t *testing.T) {
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(DefaultConfig(), Sources{Read: func(context.Context) (State, error) { return State{}, nil }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Touch every labelled event metric once so that it is exported.
	OpsCommitted.WithLabelValues("local")
	PinDuration.WithLabelValues("pin", "ok")
	Pulls.WithLabelValues("ok")
	AlertsRaised.WithLabelValues("ping")
	ActorRestarts.WithLabelValues("tracker")
	fams := scrape(t, s.Handler())
	for _, name := range regexp.MustCompile(`\b(?:ipfscluster|pincluster)_[a-z_]+`).FindAllString(string(raw), -1) {
		base := name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suf); ok {
				if _, hist := fams[b]; hist {
					base = b
				}
			}
		}
		if _, ok := fams[base]; !ok {
			t.Errorf("the dashboard charts %s, which /metrics does not export", name)
		}
	}
}
