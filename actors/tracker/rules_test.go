package tracker

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

func TestUsePriorityQueue(t *testing.T) {
	cfg := DefaultConfig()
	now := time.Now()
	cases := []struct {
		name     string
		attempts int
		created  time.Time
		want     bool
	}{
		{"new pin", 0, now, true},
		{"zero timestamp counts as new", 0, time.Time{}, true},
		{"few failures", 4, now, true},
		{"max retries reached", 5, now, false},
		{"old pin", 0, now.Add(-25 * time.Hour), false},
		{"just under max age", 0, now.Add(-23 * time.Hour), true},
	}
	for _, c := range cases {
		if got := usePriorityQueue(c.attempts, c.created, now, cfg); got != c.want {
			t.Errorf("%s: got %v want %v", c.name, got, c.want)
		}
	}
}

func TestNextStep(t *testing.T) {
	cfg := DefaultConfig() // 5 retries, 24h
	now := time.Now()
	old := now.Add(-25 * time.Hour)
	cases := []struct {
		name     string
		attempts int
		created  time.Time
		priority bool
		want     step
	}{
		{"priority, young, first failure", 1, now, true, stepRetry},
		{"priority, young, last retry", 4, now, true, stepRetry},
		{"priority, retries spent", 5, now, true, stepGiveUp},
		{"priority, too old by now", 1, old, true, stepDemote},
		{"priority, too old and retries spent", 5, old, true, stepGiveUp},
		{"priority, unpin (no timestamp)", 1, time.Time{}, true, stepRetry},
		{"normal, old", 1, old, false, stepRetry},
		{"normal, retries spent", 5, now, false, stepGiveUp},
		{"normal, recovered past the retries", 6, now, false, stepGiveUp},
	}
	for _, c := range cases {
		if got := nextStep(c.attempts, c.created, c.priority, now, cfg); got != c.want {
			t.Errorf("%s: got %d want %d", c.name, got, c.want)
		}
	}
}

func TestRetryBackoff(t *testing.T) {
	cfg := DefaultConfig()
	cases := []struct {
		attempts int
		want     time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {7, time.Minute}, {100, time.Minute}}
	for _, c := range cases {
		if got := retryBackoff(c.attempts, cfg); got != c.want {
			t.Errorf("attempts=%d: got %s want %s", c.attempts, got, c.want)
		}
	}
}

func TestInFlightStatus(t *testing.T) {
	cases := []struct {
		op   opKind
		ph   phase
		want api.TrackerStatus
	}{
		{opPin, phaseQueued, api.TrackerStatusPinQueued},
		{opPin, phaseRunning, api.TrackerStatusPinning},
		{opPin, phaseRetrying, api.TrackerStatusPinError},
		{opPin, phaseFailed, api.TrackerStatusPinError},
		{opUnpin, phaseQueued, api.TrackerStatusUnpinQueued},
		{opUnpin, phaseRunning, api.TrackerStatusUnpinning},
		{opUnpin, phaseRetrying, api.TrackerStatusUnpinError},
		{opUnpin, phaseFailed, api.TrackerStatusUnpinError},
	}
	for _, c := range cases {
		if got := inFlightStatus(c.op, c.ph); got != c.want {
			t.Errorf("op=%d phase=%d: got %s want %s", c.op, c.ph, got, c.want)
		}
	}
	if settledStatus(true) != api.TrackerStatusPinned || settledStatus(false) != api.TrackerStatusUnexpectedlyUnpinned {
		t.Error("settledStatus")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.ConcurrentPins = 0 }, "pin_tracker.concurrent_pins must be > 0"},
		{func(c *Config) { c.PriorityPinMaxAge = 0 }, "pin_tracker.priority_pin_max_age"},
		{func(c *Config) { c.PriorityPinMaxRetries = -1 }, "pin_tracker.priority_pin_max_retries"},
		{func(c *Config) { c.MaxPinQueueSize = 0 }, "pin_tracker.max_pin_queue_size"},
		{func(c *Config) { c.QueueWindow = 5 }, "pin_tracker.queue_window (5) must be >= pin_tracker.concurrent_pins (10)"},
		// The timeouts are ipfs_connector's keys (see Config).
		{func(c *Config) { c.PinTimeout = 0 }, "ipfs_connector.pin_timeout"},
		{func(c *Config) { c.UnpinTimeout = 0 }, "ipfs_connector.unpin_timeout"},
		{func(c *Config) { c.RetryBackoffMin = 2 * time.Minute }, "retry_backoff_min"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.mut(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want error containing %q, got %v", c.want, err)
		}
	}
}

func TestConfigJSON(t *testing.T) {
	b, err := json.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"priority_pin_max_age":"24h0m0s"`) {
		t.Fatalf("durations not human-readable: %s", b)
	}
	c := DefaultConfig()
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c != DefaultConfig() {
		t.Fatalf("round trip: %+v", c)
	}
	if err := json.Unmarshal([]byte(`{"concurrent_pins": 3, "retry_backoff_max": "30s", "queue_window": 500}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.ConcurrentPins != 3 || c.QueueWindow != 500 || c.RetryBackoffMax != 30*time.Second || c.PriorityPinMaxAge != 24*time.Hour {
		t.Fatalf("partial: %+v", c)
	}
	if err := json.Unmarshal([]byte(`{"priority_pin_max_age": "soon"}`), &c); err == nil || !strings.Contains(err.Error(), "pin_tracker.priority_pin_max_age") {
		t.Fatalf("bad duration error: %v", err)
	}
	// One key per setting: the timeouts are ipfs_connector's, so pin_tracker does not read them.
	for _, key := range []string{"pin_timeout", "unpin_timeout"} {
		if err := json.Unmarshal([]byte(`{"`+key+`": "30s"}`), &c); err == nil || !strings.Contains(err.Error(), `unknown key "`+key+`"`) {
			t.Errorf("%s: got %v, want an unknown-key error", key, err)
		}
	}
}

func TestConfigApplyEnv(t *testing.T) {
	t.Setenv("T_CONCURRENT_PINS", "4")
	t.Setenv("T_PRIORITY_PIN_MAX_AGE", "1h")
	c := DefaultConfig()
	if err := c.ApplyEnv(nil, "T_"); err != nil {
		t.Fatal(err)
	}
	if c.ConcurrentPins != 4 || c.PriorityPinMaxAge != time.Hour || c.MaxPinQueueSize != DefaultConfig().MaxPinQueueSize {
		t.Fatalf("env: %+v", c)
	}
	t.Setenv("T_RETRY_BACKOFF_MIN", "soon")
	if err := c.ApplyEnv(nil, "T_"); err == nil || !strings.Contains(err.Error(), "pin_tracker.retry_backoff_min") || !strings.Contains(err.Error(), "T_RETRY_BACKOFF_MIN") {
		t.Fatalf("bad env duration: %v", err)
	}
	if c.RetryBackoffMin != DefaultConfig().RetryBackoffMin {
		t.Fatalf("a rejected variable changed the config: %+v", c)
	}
}
