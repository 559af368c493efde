package allocator

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pincluster/pincluster/internal/strictjson"
)

// TagPrefix marks a metric that partitions peers into buckets by its value ("tag:region").
const TagPrefix = "tag:"

// NumericMetrics are the metrics the informers publish that rank peers (monitor.MetricFreeSpace,
// MetricPinQueue, MetricNumPin; monitor's tests check the two lists agree).
var NumericMetrics = []string{"freespace", "pinqueue", "numpin"}

// Config is the "allocator" section of the peer configuration.
type Config struct {
	// AllocateBy ("allocate_by") lists the metrics that rank candidates, most significant
	// first. "tag:NAME" metrics split peers into buckets (allocations spread across buckets);
	// other metrics order peers by their Weight, higher first.
	AllocateBy []string
}

// Default returns IPFS Cluster's default: ["tag:group", "freespace"].
func Default() Config {
	return Config{AllocateBy: []string{"tag:group", "freespace"}}
}

// Validate checks allocate_by: at least one metric, no empty or repeated names, no "tag:"
// without a tag name.
func (c Config) Validate() error {
	if len(c.AllocateBy) == 0 {
		return errors.New(`allocator.allocate_by must name at least one metric (e.g. ["tag:group", "freespace"])`)
	}
	seen := make(map[string]bool, len(c.AllocateBy))
	var errs []error
	for i, name := range c.AllocateBy {
		switch {
		case strings.TrimSpace(name) == "":
			errs = append(errs, fmt.Errorf("allocator.allocate_by[%d] is empty: name a metric such as freespace or tag:group", i))
		case name == TagPrefix:
			errs = append(errs, fmt.Errorf("allocator.allocate_by[%d] is %q: add the tag name (e.g. tag:region)", i, name))
		case seen[name]:
			errs = append(errs, fmt.Errorf("allocator.allocate_by lists %q twice: remove one", name))
		case !strings.HasPrefix(name, TagPrefix) && !slices.Contains(NumericMetrics, name):
			// No peer publishes it: every allocation would find no candidate.
			errs = append(errs, fmt.Errorf("allocator.allocate_by[%d] is %q, a metric no peer publishes: use %s or tag:NAME (a tag of informer.tags)",
				i, name, strings.Join(NumericMetrics, ", ")))
		}
		seen[name] = true
	}
	return errors.Join(errs...)
}

type configJSON struct {
	AllocateBy []string `json:"allocate_by"`
}

// MarshalJSON writes {"allocate_by": [...]}.
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(configJSON{AllocateBy: c.AllocateBy})
}

// UnmarshalJSON reads over the current values (start from Default): an absent allocate_by
// keeps its value; an unknown key is an error naming it.
func (c *Config) UnmarshalJSON(b []byte) error {
	j := configJSON{AllocateBy: c.AllocateBy}
	if err := strictjson.Decode("allocator", b, &j); err != nil {
		return err
	}
	c.AllocateBy = j.AllocateBy
	return nil
}
