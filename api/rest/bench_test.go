package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// storedPins serves PinsJSON from pre-encoded pins, the way the store hands out its bytes.
type storedPins struct {
	*fakeCluster
	pins [][]byte
}

func (s *storedPins) PinsJSON(ctx context.Context, fn func([]byte) error) error {
	for _, p := range s.pins {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// discardWriter is a ResponseWriter that throws the body away (no recorder buffering).
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkAllocations measures GET /allocations over 100k stored pins (pins/s).
func BenchmarkAllocations(b *testing.B) {
	s, f := newTestServer(b, nil)
	sp := &storedPins{fakeCluster: f}
	for i := range 100_000 {
		p := api.NewPin(testCid(fmt.Sprint(i)), api.PinOptions{Name: fmt.Sprint("pin", i), ReplicationFactorMin: -1, ReplicationFactorMax: -1})
		j, _ := json.Marshal(p)
		sp.pins = append(sp.pins, j)
	}
	s.svc.Pins = sp
	h := s.Handler()
	req := httptest.NewRequest("GET", "/allocations", nil)
	b.ResetTimer()
	for b.Loop() {
		h.ServeHTTP(&discardWriter{h: http.Header{}}, req)
	}
	b.ReportMetric(float64(len(sp.pins))*float64(b.N)/b.Elapsed().Seconds(), "pins/s")
}

// BenchmarkStatusAll measures GET /pins encoding of GlobalPinInfo (items/s).
func BenchmarkStatusAll(b *testing.B) {
	s, f := newTestServer(b, nil)
	f.nItems = 10_000
	h := s.Handler()
	req := httptest.NewRequest("GET", "/pins", nil)
	b.ResetTimer()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(f.nItems)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

var _ io.Writer = (*discardWriter)(nil)
