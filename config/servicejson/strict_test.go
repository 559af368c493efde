package servicejson

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/strictjson"
)

// strictSections is every JSON object of service.json whose keys are fixed, with a typo of one of
// its keys. A typo must be an error naming the section and the key: a key that is read and
// ignored would leave the default in force without a word.
var strictSections = []struct {
	section, typo string
	// elsewhere names the file that decodes this section when strictness is its owner's job.
	elsewhere string
}{
	{"", "informers", ""}, // the top level: sections
	{"cluster", "peernam", ""},
	{"cluster.connection_manager", "high_watter", ""},
	{"consensus", "crdtt", ""},
	{"consensus.crdt", "trusted_peer", ""},
	{"consensus.crdt.batching", "max_batch_sise", ""},
	{"api", "restapii", ""},
	{"api.restapi", "listen_multiadress", "api/rest/config.go"},
	{"api.ipfsproxy", "node_https", ""}, // IPFS Cluster key pincluster does not implement
	{"api.pinsvcapi", "listen_multiadress", ""},
	{"ipfs_connector", "pin_timout", ""},
	{"pin_tracker", "concurent_pins", ""},
	{"datastore", "syncwrites_", ""},
	{"allocator", "allocateby", ""},
	{"informer", "tagz", ""},
	{"monitor", "check_intervall", ""},
	{"observations", "tracing", ""}, // IPFS Cluster's tracing section: pincluster has none
	{"observations.metrics", "enable_stat", ""},
}

// mapSections hold free-form keys (tag names, user names).
var mapSections = []string{"informer.tags", "api.restapi.basic_auth_credentials", "api.restapi.basic_auth_permissions"}

// nest builds {"a": {"b": {key: 1}}} for section "a.b".
func nest(section, key string) []byte {
	var v any = map[string]any{key: 1}
	if section != "" {
		parts := strings.Split(section, ".")
		for i := len(parts) - 1; i >= 0; i-- {
			v = map[string]any{parts[i]: v}
		}
	}
	b, _ := json.Marshal(v)
	return b
}

func TestConfigUnknownKeyInEverySection(t *testing.T) {
	for _, tc := range strictSections {
		name := tc.section
		if name == "" {
			name = "top level"
		}
		t.Run(name, func(t *testing.T) {
			in := nest(tc.section, tc.typo)
			_, err := Parse(in)
			if err == nil && tc.elsewhere != "" {
				t.Skipf("%s accepts unknown keys: its strict decoding belongs in %s", tc.section, tc.elsewhere)
			}
			want := tc.section + `: unknown key "` + tc.typo + `"`
			if tc.section == "" {
				want = `unknown section "` + tc.typo + `"`
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("%s: got %v, want an error containing %s", in, err, want)
			}
			if tc.elsewhere == "" && !errors.Is(err, strictjson.ErrUnknownKey) {
				t.Fatalf("%v: not errors.Is(ErrUnknownKey)", err)
			}
		})
	}
}

// TestStrictSectionsCoverTheConfig fails when a section is added to Config without a row in
// strictSections.
func TestStrictSectionsCoverTheConfig(t *testing.T) {
	b, err := json.Marshal(Default())
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	got := []string{""}
	var walk func(path string, m map[string]any)
	walk = func(path string, m map[string]any) {
		for k, v := range m {
			sub, ok := v.(map[string]any)
			p := strings.TrimPrefix(path+"."+k, ".")
			if !ok || slices.Contains(mapSections, p) {
				continue
			}
			got = append(got, p)
			walk(p, sub)
		}
	}
	walk("", tree)
	var want []string
	for _, s := range strictSections {
		want = append(want, s.section)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("sections of service.json %q, table covers %q", got, want)
	}
}

// TestLoadConfigNamesFileSectionAndKey: what the daemon prints for a typo.
func TestLoadConfigNamesFileSectionAndKey(t *testing.T) {
	dir := t.TempDir()
	if err := Default().Save(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, config.ConfigFile)
	b, _ := os.ReadFile(path)
	b = []byte(strings.Replace(string(b), `"informer": {`, `"informer": {"tagz": {"region": "eu"},`, 1))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	want := path + `: informer: unknown key "tagz" (known keys: metric_ttl, tags)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// TestConfigTypeAndValueErrorsNameTheKey covers sections with their own decoders too.
func TestConfigTypeAndValueErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"cluster": {"replication_factor_min": "two"}}`, "cluster.replication_factor_min: expected an integer, got string"},
		{`{"consensus": {"crdt": {"batching": {"max_batch_age": "1x"}}}}`, `consensus.crdt.batching.max_batch_age: bad duration "1x"`},
		{`{"allocator": {"allocate_by": "freespace"}}`, "allocator.allocate_by: expected a list, got string"},
		{`{"informer": {"metric_ttl": 30}}`, "informer.metric_ttl: expected a string, got number"},
		{`{"monitor": {"alert_history": "many"}}`, "monitor.alert_history: expected an integer, got string"},
		{`{"informer": []}`, "informer: expected an object, got array"},
	} {
		_, err := Parse([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.json, err, tc.want)
		}
	}
}

// TestConfigIgnoredIPFSClusterKeys: peer_watch_interval (IPFS Cluster's) has no effect here, so
// a file that sets it is told so instead of being silently ignored; new files do not carry it.
func TestConfigIgnoredIPFSClusterKeys(t *testing.T) {
	_, err := Parse([]byte(`{"cluster": {"peer_watch_interval": "5s"}}`))
	if err == nil || !strings.Contains(err.Error(), `cluster: unknown key "peer_watch_interval"`) {
		t.Fatalf("got %v", err)
	}
	cfg, err := Parse([]byte(`{"cluster": {"leave_on_shutdown": false, "follower_mode": false}}`))
	if err != nil || cfg.Validate() != nil {
		t.Fatalf("false is what pincluster does: %v %v", err, cfg.Validate())
	}
	b, _ := json.Marshal(Default())
	for _, k := range []string{"peer_watch_interval", "leave_on_shutdown", "follower_mode"} {
		if strings.Contains(string(b), k) {
			t.Errorf("new service.json carries %s", k)
		}
	}
}

// TestConnectionManagerSection: IPFS Cluster's cluster.connection_manager is read (its keys,
// defaults and duration format), and bad watermarks are refused naming the key.
func TestConnectionManagerSection(t *testing.T) {
	cfg, err := Parse([]byte(`{"cluster": {"connection_manager": {"high_water": 40, "low_water": 10, "grace_period": "30s"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Cluster.ConnectionManager; got.HighWater != 40 || got.LowWater != 10 || got.GracePeriod.D().String() != "30s" {
		t.Fatalf("got %+v", got)
	}
	if def := Default().Cluster.ConnectionManager; def.HighWater != 400 || def.LowWater != 100 || def.GracePeriod.D().String() != "2m0s" {
		t.Fatalf("defaults %+v, want IPFS Cluster's 400/100/2m", def)
	}
	for _, tc := range []struct{ json, want string }{
		{`{"high_water": 10, "low_water": 20}`, "cluster.connection_manager.high_water (10): must be at least low_water (20)"},
		{`{"low_water": 0}`, "cluster.connection_manager.low_water: must be at least 1"},
		{`{"grace_period": "-1s"}`, "cluster.connection_manager.grace_period: must be a positive duration"},
		{`{"grace_period": "0s"}`, "cluster.connection_manager.grace_period: must be a positive duration"},
	} {
		cfg, err := Parse([]byte(`{"cluster": {"connection_manager": ` + tc.json + `}}`))
		if err == nil {
			err = cfg.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.json, err, tc.want)
		}
	}
}
