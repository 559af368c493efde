package gossip

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pincluster/pincluster/api"
)

func metricsSample(t testing.TB) []api.Metric {
	a, b := wirePeer(t, 1), wirePeer(t, 2)
	return []api.Metric{
		{Name: "ping", Peer: a, Value: "/ip4/127.0.0.1/tcp/9096,/ip4/127.0.0.1/udp/9096/quic-v1", Expire: 1764590400123456789, Valid: true},
		{Name: "freespace", Peer: a, Value: "1073741824", Expire: 1, Valid: true, Weight: -5, Partitionable: true, ReceivedAt: 1 << 62},
		{Name: removedMetric, Peer: a, Value: b.String()},
	}
}

// TestMetricsGolden pins the protobuf form of a metrics message (testdata/golden) and checks
// that both forms, protobuf and the JSON of the previous release, decode to the same metrics.
func TestMetricsGolden(t *testing.T) {
	ms := metricsSample(t)
	enc, err := encodeMetrics(ms)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", "metrics.bin")
	if *updateGolden {
		if err := os.WriteFile(path, enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-golden once to create it)", err)
	}
	if !bytes.Equal(enc, want) {
		t.Errorf("encoding changed:\n got %x\nwant %x", enc, want)
	}
	js, err := json.Marshal(ms)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"protobuf": want, "json": js} {
		got, err := decodeMetrics(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, ms) {
			t.Fatalf("%s: got %+v want %+v", name, got, ms)
		}
	}
	if got, err := decodeMetrics([]byte("null")); err != nil || len(got) != 0 {
		t.Fatalf("JSON null: %v, %v", got, err)
	}
	if _, err := decodeMetrics([]byte{0x12, 0x01}); err == nil {
		t.Fatal("garbage decoded")
	}
}

// FuzzDecodeMetrics: hostile pubsub data never panics, and decoded metrics survive the
// protobuf form.
func FuzzDecodeMetrics(f *testing.F) {
	ms := metricsSample(f)
	enc, err := encodeMetrics(ms)
	if err != nil {
		f.Fatal(err)
	}
	js, _ := json.Marshal(ms)
	f.Add(enc)
	f.Add(js)
	f.Add([]byte("null"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeMetrics(data)
		if err != nil {
			return
		}
		enc, err := encodeMetrics(got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeMetrics(enc)
		if err != nil {
			t.Fatalf("re-decoding failed: %v", err)
		}
		if len(got) != len(again) || (len(got) > 0 && !reflect.DeepEqual(got, again)) {
			t.Fatalf("round trip changed the metrics:\n%+v\n%+v", got, again)
		}
	})
}
