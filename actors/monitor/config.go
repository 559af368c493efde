package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pincluster/pincluster/internal/strictjson"
)

// Config is the "monitor" section of the peer configuration.
type Config struct {
	// CheckInterval ("check_interval") bounds how long an expired metric may go unnoticed:
	// the monitor checks for expired metrics every CheckInterval, or every second when
	// CheckInterval is longer.
	CheckInterval time.Duration
	// AlertHistory ("alert_history") is how many recent alerts Alerts returns.
	AlertHistory int
}

// Default returns IPFS Cluster's check_interval (15s) and a history of 1000 alerts.
func Default() Config {
	return Config{CheckInterval: 15 * time.Second, AlertHistory: 1000}
}

// withDefaults fills zero fields from Default.
func (c Config) withDefaults() Config {
	d := Default()
	if c.CheckInterval == 0 {
		c.CheckInterval = d.CheckInterval
	}
	if c.AlertHistory == 0 {
		c.AlertHistory = d.AlertHistory
	}
	return c
}

// Validate checks every field; errors name the JSON key.
func (c Config) Validate() error {
	var errs []error
	if c.CheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("monitor.check_interval must be > 0 (e.g. 15s), got %s", c.CheckInterval))
	}
	if c.AlertHistory <= 0 {
		errs = append(errs, fmt.Errorf("monitor.alert_history must be > 0 (e.g. 1000), got %d", c.AlertHistory))
	}
	return errors.Join(errs...)
}

// tick is how often the actor checks for expired metrics.
func (c Config) tick() time.Duration {
	if c.CheckInterval > time.Second {
		return time.Second
	}
	return c.CheckInterval
}

type configJSON struct {
	CheckInterval string `json:"check_interval"`
	AlertHistory  int    `json:"alert_history"`
}

// MarshalJSON writes durations in Go's human-readable form ("15s").
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(configJSON{CheckInterval: c.CheckInterval.String(), AlertHistory: c.AlertHistory})
}

// UnmarshalJSON reads over the current values (start from Default): absent keys keep their
// value; an unknown key is an error naming it.
func (c *Config) UnmarshalJSON(b []byte) error {
	j := configJSON{AlertHistory: c.AlertHistory}
	if err := strictjson.Decode("monitor", b, &j); err != nil {
		return err
	}
	if j.CheckInterval != "" {
		d, err := time.ParseDuration(j.CheckInterval)
		if err != nil {
			return fmt.Errorf("monitor.check_interval: %q is not a duration (e.g. 15s)", j.CheckInterval)
		}
		c.CheckInterval = d
	}
	c.AlertHistory = j.AlertHistory
	return nil
}
