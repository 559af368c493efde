package tracker

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/strictjson"
)

// Config is the "pin_tracker" section of service.json, decoded strictly (an unknown key is an
// error naming it) and overridden from PINCLUSTER_PIN_TRACKER_<KEY> (ApplyEnv). It is the one
// tracker config: the peer reads the section into it and hands it to New.
//
// PinTimeout and UnpinTimeout are not keys of this section: they are ipfs_connector's
// pin_timeout and unpin_timeout (where IPFS Cluster has them), which the peer copies in, so
// they are not in the JSON form either (one key per setting).
type Config struct {
	// ConcurrentPins is how many pin/unpin operations run at once; the slots are shared by the
	// queues, priority first (the express queue has one more of its own: express.go).
	ConcurrentPins int
	// PriorityPinMaxAge: a pin older than this (api.Pin.Timestamp) goes to the normal queue.
	PriorityPinMaxAge time.Duration
	// PriorityPinMaxRetries: after this many failed attempts a pin stops retrying
	// automatically and goes to the normal queue (0: no automatic retries, normal queue only).
	PriorityPinMaxRetries int
	// MaxPinQueueSize bounds the items queued or in progress (counted in the durable queue);
	// beyond it Track fails with api.ErrUnavailable.
	MaxPinQueueSize int
	// QueueWindow is how many queued or in-progress items the tracker holds in memory; the
	// rest of the queue stays in Badger and is paged in as the window frees up. It bounds the
	// tracker's memory whatever the queue's length.
	QueueWindow int
	// PinTimeout is counted from the last block received, not from the start (set from
	// ipfs_connector.pin_timeout).
	PinTimeout time.Duration
	// UnpinTimeout bounds one unpin call (set from ipfs_connector.unpin_timeout).
	UnpinTimeout time.Duration
	// RetryBackoffMin and RetryBackoffMax bound the automatic retry delay after a failure
	// (doubling from min, capped at max).
	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration
}

// DefaultConfig returns IPFS Cluster's defaults.
func DefaultConfig() Config {
	return Config{
		ConcurrentPins:        10,
		PriorityPinMaxAge:     24 * time.Hour,
		PriorityPinMaxRetries: 5,
		MaxPinQueueSize:       1_000_000,
		QueueWindow:           20_000,
		PinTimeout:            2 * time.Minute,
		UnpinTimeout:          3 * time.Hour,
		RetryBackoffMin:       time.Second,
		RetryBackoffMax:       time.Minute,
	}
}

// Validate checks every field; errors name the JSON key.
func (c Config) Validate() error {
	var errs []error
	pos := func(ok bool, key string) {
		if !ok {
			errs = append(errs, fmt.Errorf("pin_tracker.%s must be > 0", key))
		}
	}
	pos(c.ConcurrentPins > 0, "concurrent_pins")
	pos(c.PriorityPinMaxAge > 0, "priority_pin_max_age")
	if c.PriorityPinMaxRetries < 0 {
		errs = append(errs, fmt.Errorf("pin_tracker.priority_pin_max_retries must be >= 0 (0: no automatic retries)"))
	}
	pos(c.MaxPinQueueSize > 0, "max_pin_queue_size")
	if c.QueueWindow < c.ConcurrentPins || c.QueueWindow <= 0 {
		errs = append(errs, fmt.Errorf("pin_tracker.queue_window (%d) must be >= pin_tracker.concurrent_pins (%d)", c.QueueWindow, c.ConcurrentPins))
	}
	if c.PinTimeout <= 0 {
		errs = append(errs, fmt.Errorf("ipfs_connector.pin_timeout (the tracker's pin timeout) must be > 0"))
	}
	if c.UnpinTimeout <= 0 {
		errs = append(errs, fmt.Errorf("ipfs_connector.unpin_timeout (the tracker's unpin timeout) must be > 0"))
	}
	pos(c.RetryBackoffMin > 0, "retry_backoff_min")
	pos(c.RetryBackoffMax > 0, "retry_backoff_max")
	if c.RetryBackoffMin > 0 && c.RetryBackoffMax > 0 && c.RetryBackoffMin > c.RetryBackoffMax {
		errs = append(errs, fmt.Errorf("pin_tracker.retry_backoff_min (%s) must not exceed pin_tracker.retry_backoff_max (%s)", c.RetryBackoffMin, c.RetryBackoffMax))
	}
	return errors.Join(errs...)
}

type configJSON struct {
	ConcurrentPins        int    `json:"concurrent_pins"`
	PriorityPinMaxAge     string `json:"priority_pin_max_age"`
	PriorityPinMaxRetries int    `json:"priority_pin_max_retries"`
	MaxPinQueueSize       int    `json:"max_pin_queue_size"`
	QueueWindow           int    `json:"queue_window"`
	RetryBackoffMin       string `json:"retry_backoff_min"`
	RetryBackoffMax       string `json:"retry_backoff_max"`
}

// MarshalJSON writes durations in Go's human-readable form ("2m0s").
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.toJSON()) }

// UnmarshalJSON reads over the current values (start from DefaultConfig): keys that are absent
// keep their value; an unknown key is an error naming it. A rejected input changes nothing.
func (c *Config) UnmarshalJSON(b []byte) error {
	j := c.toJSON()
	if err := strictjson.Decode("pin_tracker", b, &j); err != nil {
		return err
	}
	return c.fromJSON(j)
}

// ApplyEnv overrides keys from the environment: PREFIX + upper-cased key for each prefix
// (PINCLUSTER_PIN_TRACKER_CONCURRENT_PINS), as config.ApplyEnv does for the other sections,
// adding the keys set to rec (which may be nil).
func (c *Config) ApplyEnv(rec *config.EnvOverrides, prefixes ...string) error {
	j := c.toJSON()
	var set config.EnvOverrides
	if err := config.ApplyEnv(&set, "pin_tracker", &j, prefixes...); err != nil {
		return err
	}
	if err := c.fromJSON(j); err != nil {
		// The durations are strings until fromJSON, whose error names the key only.
		if named := set.Named(err); len(named) > 0 {
			return fmt.Errorf("%s: %w", named, err)
		}
		return err
	}
	for _, e := range set {
		rec.Add(e.Key, e.Var)
	}
	return nil
}

func (c Config) toJSON() configJSON {
	return configJSON{
		ConcurrentPins:        c.ConcurrentPins,
		PriorityPinMaxAge:     c.PriorityPinMaxAge.String(),
		PriorityPinMaxRetries: c.PriorityPinMaxRetries,
		MaxPinQueueSize:       c.MaxPinQueueSize,
		QueueWindow:           c.QueueWindow,
		RetryBackoffMin:       c.RetryBackoffMin.String(),
		RetryBackoffMax:       c.RetryBackoffMax.String(),
	}
}

// fromJSON sets c from j, or nothing when a duration does not parse.
func (c *Config) fromJSON(j configJSON) error {
	n := *c
	n.ConcurrentPins, n.PriorityPinMaxRetries, n.MaxPinQueueSize, n.QueueWindow = j.ConcurrentPins, j.PriorityPinMaxRetries, j.MaxPinQueueSize, j.QueueWindow
	for _, d := range []struct {
		key string
		s   string
		dst *time.Duration
	}{
		{"priority_pin_max_age", j.PriorityPinMaxAge, &n.PriorityPinMaxAge},
		{"retry_backoff_min", j.RetryBackoffMin, &n.RetryBackoffMin},
		{"retry_backoff_max", j.RetryBackoffMax, &n.RetryBackoffMax},
	} {
		v, err := time.ParseDuration(d.s)
		if err != nil {
			return fmt.Errorf("pin_tracker.%s: %q is not a duration (e.g. 2m, 24h)", d.key, d.s)
		}
		*d.dst = v
	}
	*c = n
	return nil
}
