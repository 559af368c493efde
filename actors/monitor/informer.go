package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/strictjson"
)

// Metric names published by informers.
const (
	// MetricPing is the liveness metric: a peer whose ping expired is down.
	MetricPing = "ping"
	// MetricFreeSpace is the free space of the IPFS repo in bytes (more is better).
	MetricFreeSpace = "freespace"
	// MetricPinQueue is the number of pins queued or in progress (fewer is better).
	MetricPinQueue = "pinqueue"
	// MetricNumPin is the number of pins on the peer's IPFS node (fewer is better): its last
	// state sync's count, followed since by its tracker (healer.Healer.NodePins).
	MetricNumPin = "numpin"
	// TagPrefix starts the name of a tag metric: "tag:group".
	TagPrefix = "tag:"
	// MetricFollower marks a follower peer (cluster.follower_mode), published beside its ping
	// with the same TTL: allocators leave it out of the ranked choice (actors/allocator) and
	// allocate to it only on request (user allocations).
	MetricFollower = "follower"
)

// InformerConfig is the "informer" section of the peer configuration.
type InformerConfig struct {
	// MetricTTL ("metric_ttl") is how long the freespace, pinqueue, numpin and tag metrics stay
	// valid; the peer should collect more often (about every MetricTTL/2).
	MetricTTL time.Duration
	// Tags ("tags") are published as one "tag:NAME" metric each. Nil means the default
	// {"group": "default"}; an empty, non-nil map publishes no tags.
	Tags map[string]string
}

// DefaultInformerConfig returns IPFS Cluster's defaults: TTL 30s, tags {"group": "default"}.
func DefaultInformerConfig() InformerConfig {
	return InformerConfig{MetricTTL: 30 * time.Second, Tags: map[string]string{"group": "default"}}
}

// Validate checks every field; errors name the JSON key.
func (c InformerConfig) Validate() error {
	var errs []error
	if c.MetricTTL <= 0 {
		errs = append(errs, fmt.Errorf("informer.metric_ttl must be > 0 (e.g. 30s), got %s", c.MetricTTL))
	}
	for k := range c.Tags {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t\n") {
			errs = append(errs, fmt.Errorf("informer.tags: tag name %q must be a non-empty word (e.g. region)", k))
		}
	}
	return errors.Join(errs...)
}

type informerJSON struct {
	MetricTTL string            `json:"metric_ttl"`
	Tags      map[string]string `json:"tags"`
}

// MarshalJSON writes the TTL in Go's human-readable form ("30s").
func (c InformerConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(informerJSON{MetricTTL: c.MetricTTL.String(), Tags: c.Tags})
}

// UnmarshalJSON reads over the current values (start from DefaultInformerConfig): absent keys
// keep their value; "tags" replaces the whole map ({} publishes no tags); an unknown key is an
// error naming it.
func (c *InformerConfig) UnmarshalJSON(b []byte) error {
	var j informerJSON // Tags nil: decoding into an existing map would merge
	if err := strictjson.Decode("informer", b, &j); err != nil {
		return err
	}
	if j.MetricTTL != "" {
		d, err := time.ParseDuration(j.MetricTTL)
		if err != nil {
			return fmt.Errorf("informer.metric_ttl: %q is not a duration (e.g. 30s)", j.MetricTTL)
		}
		c.MetricTTL = d
	}
	if j.Tags != nil {
		c.Tags = j.Tags
	}
	return nil
}

// Collect produces this peer's metrics at now; the peer calls it every interval and publishes
// each metric (locally with Monitor.Publish and on the metrics topic). It is pure.
//
//   - freespace: Value = free bytes in decimal, Weight = bytes (capped at MaxInt64);
//   - pinqueue: Value = queued count, Weight = -count;
//   - numpin: Value = pins on the IPFS node, Weight = -count; left out when numPin < 0 (not
//     counted yet);
//   - ping: Value "", valid for pingTTL (default 30s when pingTTL <= 0);
//   - one "tag:NAME" per tag (sorted by name), Value = tag value, Partitionable.
//
// All but ping expire after cfg.MetricTTL (default 30s when zero). Every metric is Valid.
func Collect(now time.Time, self peer.ID, cfg InformerConfig, freeSpace uint64, pinQueue int, numPin int, pingTTL time.Duration) []api.Metric {
	ttl := cfg.MetricTTL
	if ttl <= 0 {
		ttl = DefaultInformerConfig().MetricTTL
	}
	if pingTTL <= 0 {
		pingTTL = 30 * time.Second
	}
	tags := cfg.Tags
	if tags == nil {
		tags = DefaultInformerConfig().Tags
	}
	expire := now.Add(ttl).UnixNano()
	mk := func(name, value string, weight int64) api.Metric {
		return api.Metric{Name: name, Peer: self, Value: value, Expire: expire, Valid: true, Weight: weight}
	}
	free := int64(math.MaxInt64)
	if freeSpace < math.MaxInt64 {
		free = int64(freeSpace)
	}
	out := make([]api.Metric, 0, 4+len(tags))
	out = append(out,
		mk(MetricFreeSpace, strconv.FormatUint(freeSpace, 10), free),
		mk(MetricPinQueue, strconv.Itoa(pinQueue), -int64(pinQueue)),
		api.Metric{Name: MetricPing, Peer: self, Expire: now.Add(pingTTL).UnixNano(), Valid: true},
	)
	if numPin >= 0 {
		out = append(out, mk(MetricNumPin, strconv.Itoa(numPin), -int64(numPin)))
	}
	names := make([]string, 0, len(tags))
	for k := range tags {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		m := mk(TagPrefix+k, tags[k], 0)
		m.Partitionable = true
		out = append(out, m)
	}
	return out
}
