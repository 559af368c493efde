package telemetry

import (
	"fmt"
	"time"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/httpserve"
)

// Config is the observations.metrics section of service.json (IPFS Cluster's keys).
type Config struct {
	// EnableStats serves the Prometheus endpoint; `daemon --stats` sets it for one run.
	EnableStats bool `json:"enable_stats"`
	// PrometheusEndpoint is the TCP multiaddress of the /metrics listener.
	PrometheusEndpoint string `json:"prometheus_endpoint"`
	// ReportingInterval is how long a scrape's reading of the peer's state is reused.
	ReportingInterval config.Duration `json:"reporting_interval"`
}

// ObservationsSection keeps IPFS Cluster's nesting: "observations": {"metrics": {...}}.
type ObservationsSection struct {
	Metrics Config `json:"metrics"`
}

// DefaultConfig is IPFS Cluster's: off, 127.0.0.1:8888, 2s.
func DefaultConfig() Config {
	return Config{PrometheusEndpoint: "/ip4/127.0.0.1/tcp/8888", ReportingInterval: config.Duration(2 * time.Second)}
}

// Validate checks the endpoint and the interval; errors name the key.
func (c Config) Validate() error {
	if _, err := httpserve.ParseTCPAddr(c.PrometheusEndpoint, DefaultConfig().PrometheusEndpoint); err != nil {
		return fmt.Errorf("observations.metrics.prometheus_endpoint: %w", err)
	}
	if c.ReportingInterval.D() <= 0 {
		return fmt.Errorf("observations.metrics.reporting_interval: must be positive, got %s", c.ReportingInterval.D())
	}
	return nil
}
