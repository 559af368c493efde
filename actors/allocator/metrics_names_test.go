package allocator

import (
	"slices"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/actors/monitor"
)

// The metrics allocate_by may name are the ones the informers publish.
func TestNumericMetricsArePublished(t *testing.T) {
	want := []string{monitor.MetricFreeSpace, monitor.MetricPinQueue, monitor.MetricNumPin}
	if !slices.Equal(NumericMetrics, want) {
		t.Fatalf("NumericMetrics %v, informers publish %v", NumericMetrics, want)
	}
	for _, by := range [][]string{{"tag:group", "freespace"}, {"numpin"}, {"tag:region", "pinqueue"}} {
		if err := (Config{AllocateBy: by}).Validate(); err != nil {
			t.Errorf("%v: %v", by, err)
		}
	}
	err := Config{AllocateBy: []string{"nosuchmetric"}}.Validate()
	if err == nil || !strings.Contains(err.Error(), `allocator.allocate_by[0] is "nosuchmetric", a metric no peer publishes`) {
		t.Fatalf("unknown metric: %v", err)
	}
}
