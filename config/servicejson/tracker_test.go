package servicejson

import (
	"strings"
	"testing"
	"time"
)

// TestTrackerSection: pin_tracker is decoded into the tracker's own config, and the tracker gets
// ipfs_connector's timeouts: one key per setting, none read and ignored.
func TestTrackerSection(t *testing.T) {
	cfg, err := Parse([]byte(`{"pin_tracker": {"concurrent_pins": 3, "retry_backoff_max": "30s"},
		"ipfs_connector": {"pin_timeout": "7m", "unpin_timeout": "8m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	tc := cfg.TrackerConfig()
	if tc.ConcurrentPins != 3 || tc.RetryBackoffMax != 30*time.Second || tc.PinTimeout != 7*time.Minute || tc.UnpinTimeout != 8*time.Minute {
		t.Fatalf("tracker config: %+v", tc)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"pin_timeout", "unpin_timeout"} {
		_, err := Parse([]byte(`{"pin_tracker": {"` + key + `": "1m"}}`))
		if err == nil || !strings.Contains(err.Error(), `pin_tracker: unknown key "`+key+`"`) {
			t.Errorf("pin_tracker.%s: got %v, want an unknown-key error (it is ipfs_connector's)", key, err)
		}
	}
	cfg = Default()
	cfg.Tracker.RetryBackoffMin = time.Hour
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "pin_tracker.retry_backoff_min") {
		t.Fatalf("validate: %v", err)
	}
}
