// Package servicejson is the whole service.json: the section of every component (config/ and
// the actors' own configs) under one Config, with loading, environment overrides and
// validation. It is apart from config/ because it imports the actors whose sections it holds
// (which import config/), and apart from peer because init and the offline commands read it
// without a peer.
package servicejson

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/actors/tracker"
	"github.com/pincluster/pincluster/api/ipfsproxy"
	"github.com/pincluster/pincluster/api/pinsvc"
	"github.com/pincluster/pincluster/api/rest"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/atomicfile"
	"github.com/pincluster/pincluster/internal/strictjson"
	"github.com/pincluster/pincluster/telemetry"
)

// Config is the whole service.json: one section per component. Every key has a default; a file
// may set only some keys. Unknown keys are an error (a typo must not silently fall back to a
// default). Environment variables override the file: CLUSTER_<KEY> or PINCLUSTER_<KEY> for the
// cluster section (CLUSTER_SECRET, CLUSTER_PEERNAME, ...), PINCLUSTER_<SECTION>_<KEY> for the
// others (PINCLUSTER_PIN_TRACKER_CONCURRENT_PINS, PINCLUSTER_RESTAPI_LISTEN_MULTIADDRESS, ...).
type Config struct {
	Cluster   config.Cluster         `json:"cluster"`
	Consensus ConsensusSection       `json:"consensus"`
	API       APISection             `json:"api"`
	IPFS      config.IPFS            `json:"ipfs_connector"`
	Tracker   tracker.Config         `json:"pin_tracker"` // timeouts: see TrackerConfig
	Datastore config.Datastore       `json:"datastore"`
	Allocator allocator.Config       `json:"allocator"`
	Informer  monitor.InformerConfig `json:"informer"`
	Monitor   monitor.Config         `json:"monitor"`
	// Observations is IPFS Cluster's observations section (metrics only: pincluster has no
	// tracing, and a tracing key is refused as unknown).
	Observations telemetry.ObservationsSection `json:"observations"`
}

// ConsensusSection wraps the crdt section, keeping IPFS Cluster's nesting.
type ConsensusSection struct {
	CRDT config.CRDT `json:"crdt"`
}

// APISection wraps the API sections: the REST API, the IPFS proxy API and the IPFS Pinning
// Service API.
type APISection struct {
	RestAPI   rest.Config      `json:"restapi"`
	IPFSProxy ipfsproxy.Config `json:"ipfsproxy"`
	PinSvcAPI pinsvc.Config    `json:"pinsvcapi"`
}

// Default is the configuration of a fresh peer.
func Default() Config {
	return Config{
		Cluster:   config.DefaultCluster(),
		Consensus: ConsensusSection{CRDT: config.DefaultCRDT()},
		API:       APISection{RestAPI: rest.DefaultConfig(), IPFSProxy: ipfsproxy.DefaultConfig(), PinSvcAPI: pinsvc.DefaultConfig()},
		IPFS:      config.DefaultIPFS(),
		Tracker:   tracker.DefaultConfig(),
		Allocator: allocator.Default(),
		Informer:  monitor.DefaultInformerConfig(),
		Monitor:   monitor.Default(),

		Observations: telemetry.ObservationsSection{Metrics: telemetry.DefaultConfig()},
	}
}

// Validate checks every section; errors name the key.
func (c Config) Validate() error {
	_, proxyErr := c.API.IPFSProxy.ForwardTo(c.IPFS.Backend, c.IPFS.NodeMultiaddress)
	for _, err := range []error{c.Cluster.Validate(), c.Consensus.CRDT.Validate(), c.API.RestAPI.Validate(), c.API.IPFSProxy.Validate(), c.API.PinSvcAPI.Validate(), c.IPFS.Validate(), c.Datastore.Validate(), proxyErr,
		c.TrackerConfig().Validate(), c.Allocator.Validate(), c.Informer.Validate(), c.Monitor.Validate(), c.Observations.Metrics.Validate()} {
		if err != nil {
			return err
		}
	}
	return nil
}

// TrackerConfig is the pin_tracker section with the pin and unpin timeouts of the
// ipfs_connector section, where service.json has them: what the peer hands to the tracker.
func (c Config) TrackerConfig() tracker.Config {
	t := c.Tracker
	t.PinTimeout, t.UnpinTimeout = c.IPFS.PinTimeout.D(), c.IPFS.UnpinTimeout.D()
	return t
}

// ApplyEnv overrides keys from the environment.
func (c *Config) ApplyEnv() error {
	_, err := c.applyEnv()
	return err
}

// ApplyEnvAndValidate applies the environment over c and validates the result. source says where
// c's values came from (service.json's path; "" for the defaults). A value set by the environment
// is not the file's: an error about a key a variable set names the variable, as does one that
// only the overrides brought about (c was valid before them); any other error names source.
func (c *Config) ApplyEnvAndValidate(source string) error {
	// A shallow copy is c as it was: the overrides assign fields, they do not write into the
	// slices and maps c shares with it.
	before := *c
	env, err := c.applyEnv()
	if err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	if err := c.Validate(); err != nil {
		return blame(err, before.Validate, env, source)
	}
	return nil
}

// blame prefixes err, from validating a config made of source's values and env's overrides,
// with whoever set the faulty value; prior validates the config without env.
func blame(err error, prior func() error, env config.EnvOverrides, source string) error {
	variables := func(o config.EnvOverrides) string {
		if len(o) == 1 {
			return "environment variable " + o.String()
		}
		return "environment variables " + o.String()
	}
	if named := env.Named(err); len(named) > 0 {
		if p := prior(); p != nil && p.Error() == err.Error() && source != "" {
			// source fails the same way without the variables: both hold the bad value, and
			// fixing either alone would not do (review: the file's was blamed on the variable).
			return fmt.Errorf("%s (and %s, which sets the same key): %w", source, variables(named), err)
		}
		return fmt.Errorf("%s: %w", variables(named), err)
	}
	if len(env) > 0 {
		// A rule across keys may name none of those the variables set; if source alone
		// passed it, or failed it otherwise, the variables brought the failure about.
		if p := prior(); p == nil || p.Error() != err.Error() {
			return fmt.Errorf("%s (over %s): %w", variables(env), cmp.Or(source, "the defaults"), err)
		}
	}
	if source != "" {
		return fmt.Errorf("%s: %w", source, err)
	}
	return err
}

// applyEnv overrides keys from the environment and lists those it set.
func (c *Config) applyEnv() (config.EnvOverrides, error) {
	var env config.EnvOverrides
	steps := []struct {
		section  string
		v        any
		prefixes []string
	}{
		{"cluster", &c.Cluster, []string{"CLUSTER_", "PINCLUSTER_"}},
		{"consensus.crdt", &c.Consensus.CRDT, []string{"CLUSTER_CRDT_", "PINCLUSTER_CRDT_"}},
		{"ipfs_connector", &c.IPFS, []string{"PINCLUSTER_IPFS_CONNECTOR_"}},
		{"api.ipfsproxy", &c.API.IPFSProxy, []string{"CLUSTER_IPFSPROXY_", "PINCLUSTER_IPFSPROXY_"}},
		{"api.pinsvcapi", &c.API.PinSvcAPI, []string{"CLUSTER_PINSVCAPI_", "PINCLUSTER_PINSVCAPI_"}},
		{"datastore", &c.Datastore, []string{"PINCLUSTER_DATASTORE_"}},
		{"observations.metrics", &c.Observations.Metrics, []string{"CLUSTER_METRICS_", "PINCLUSTER_METRICS_"}},
	}
	for _, s := range steps {
		if err := config.ApplyEnv(&env, s.section, s.v, s.prefixes...); err != nil {
			return nil, err
		}
	}
	if err := c.Tracker.ApplyEnv(&env, "PINCLUSTER_PIN_TRACKER_"); err != nil {
		return nil, err
	}
	// The REST API section reads its own variables (PINCLUSTER_RESTAPI_*, and IPFS Cluster's
	// CLUSTER_RESTAPI_* names).
	if err := c.API.RestAPI.ApplyEnvRecorded(os.Getenv, env.Add); err != nil {
		return nil, err
	}
	if err := c.applyActorEnv(&env); err != nil {
		return nil, err
	}
	return env, nil
}

// applyActorEnv covers the allocator, informer and monitor sections, whose configs have their own
// JSON forms: CLUSTER_/PINCLUSTER_ + ALLOCATE_BY (comma list), TAGS (k=v,k2=v2), METRIC_TTL,
// CHECK_INTERVAL.
func (c *Config) applyActorEnv(env *config.EnvOverrides) error {
	prefixes := []string{"CLUSTER_", "PINCLUSTER_"}
	if name, v, ok := config.LookupEnv("allocate_by", prefixes...); ok {
		var by []string
		for _, m := range strings.Split(v, ",") {
			if m = strings.TrimSpace(m); m != "" {
				by = append(by, m)
			}
		}
		c.Allocator.AllocateBy = by
		env.Add("allocator.allocate_by", name)
	}
	if name, v, ok := config.LookupEnv("tags", prefixes...); ok {
		tags, err := config.ParseMap(v)
		if err != nil {
			return fmt.Errorf("informer.tags (from $%s): %v", name, err)
		}
		c.Informer.Tags = tags
		env.Add("informer.tags", name)
	}
	for key, dst := range map[string]*time.Duration{"informer.metric_ttl": &c.Informer.MetricTTL, "monitor.check_interval": &c.Monitor.CheckInterval} {
		leaf := key[strings.IndexByte(key, '.')+1:]
		if name, v, ok := config.LookupEnv(leaf, prefixes...); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s (from $%s=%q): not a duration", key, name, v)
			}
			*dst = d
			env.Add(key, name)
		}
	}
	return nil
}

// Load reads dir/service.json over the defaults, applies the environment and validates.
// A missing file is fs.ErrNotExist.
func Load(dir string) (Config, error) {
	path := filepath.Join(dir, config.ConfigFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	cfg, err := Parse(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.ApplyEnvAndValidate(path); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Parse decodes a service.json over the defaults. Unknown sections and keys are errors
// naming the section and the key (strictjson), in every section: those with their own decoders
// (allocator, informer, monitor) check their keys the same way.
func Parse(b []byte) (Config, error) {
	cfg := Default()
	if err := strictjson.Decode("", b, &cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Save writes dir/service.json (mode 0600: it holds the secret).
func (c Config) Save(dir string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, config.ConfigFile), append(b, '\n'), 0o600)
}

// Exists reports whether dir holds a service.json.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, config.ConfigFile))
	return !errors.Is(err, fs.ErrNotExist)
}

// RandomizePorts gives every listener a free port picked by the kernel (init --randomports:
// several peers on one machine): the cluster's libp2p port on every interface, the APIs and
// the metrics endpoint on 127.0.0.1. Ports named in the service.json of a sibling folder of
// dir (dir/../*/service.json) are skipped: peers initialized side by side before any of them
// starts would otherwise each see the others' ports as free, and two of them could get the
// same one (about one run in fifty with four peers).
func (c *Config) RandomizePorts(dir string) error {
	ports, err := freePorts(5, siblingPorts(dir))
	if err != nil {
		return err
	}
	local := func(i int) string { return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ports[i]) }
	c.Cluster.ListenMultiaddress = []string{fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", ports[0])}
	c.API.RestAPI.ListenMultiaddress, c.API.IPFSProxy.ListenMultiaddress = local(1), local(2)
	c.API.PinSvcAPI.ListenMultiaddress, c.Observations.Metrics.PrometheusEndpoint = local(3), local(4)
	return nil
}

// maxSiblings bounds how many sibling configs RandomizePorts reads.
const maxSiblings = 1024

var tcpPort = regexp.MustCompile(`/tcp/([0-9]{1,5})\b`)

// siblingPorts returns every TCP port named in the service.json of dir's sibling folders. The
// files are scanned as text, not decoded: an older or broken sibling config still counts.
func siblingPorts(dir string) map[int]bool {
	out := map[int]bool{}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return out
	}
	paths, _ := filepath.Glob(filepath.Join(filepath.Dir(abs), "*", config.ConfigFile))
	if len(paths) > maxSiblings {
		paths = paths[:maxSiblings]
	}
	for _, p := range paths {
		if filepath.Dir(p) == abs {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, m := range tcpPort.FindAllSubmatch(raw, -1) {
			if n, err := strconv.Atoi(string(m[1])); err == nil {
				out[n] = true
			}
		}
	}
	return out
}

// freePorts asks the kernel for n distinct free TCP ports, none of them in avoid.
func freePorts(n int, avoid map[int]bool) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	// Every listener stays open until the end, so the kernel never hands out a port twice;
	// the ones in avoid are held too and skipped. The bound stops a kernel that keeps
	// offering avoided ports (it picks at random, so 64 tries are plenty).
	for tries := 0; len(ports) < n; tries++ {
		if tries == n+64 {
			return nil, fmt.Errorf("picking a free port: %d tries gave only ports other peers' configs name", tries)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("picking a free port: %w", err)
		}
		ls = append(ls, l)
		if p := l.Addr().(*net.TCPAddr).Port; !avoid[p] {
			ports = append(ports, p)
		}
	}
	return ports, nil
}
