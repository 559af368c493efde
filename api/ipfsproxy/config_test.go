package ipfsproxy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/strictjson"
)

func TestConfigDecodeStrict(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.ListenMultiaddress != "/ip4/127.0.0.1/tcp/9095" || c.NodeMultiaddress != "" || c.ReadHeaderTimeout.D() != 5*time.Second || c.IdleTimeout.D() != time.Minute {
		t.Fatalf("defaults %+v", c)
	}
	// Keys left out keep their defaults; durations are strings.
	if err := strictjson.Decode("api.ipfsproxy", []byte(`{"listen_multiaddress":"/ip4/127.0.0.1/tcp/19095","read_timeout":"1m"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.ListenMultiaddress != "/ip4/127.0.0.1/tcp/19095" || c.ReadTimeout.D() != time.Minute || c.IdleTimeout.D() != time.Minute {
		t.Fatalf("decoded %+v", c)
	}
	// Round trip.
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := strictjson.Decode("api.ipfsproxy", b, &back); err != nil || back != c {
		t.Fatalf("round trip %s: %+v, %v", b, back, err)
	}
	// IPFS Cluster's keys that are not implemented are unknown keys, not silently ignored.
	for _, k := range []string{"node_https", "extract_headers_extra", "extract_headers_ttl", "read_timout"} {
		err := strictjson.Decode("api.ipfsproxy", []byte(`{"`+k+`": true}`), &c)
		if !errors.Is(err, strictjson.ErrUnknownKey) || !strings.Contains(err.Error(), k) {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if err := strictjson.Decode("api.ipfsproxy", []byte(`{"idle_timeout": 5}`), &c); err == nil {
		t.Fatal("a number as a duration was accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"empty listen", func(c *Config) { c.ListenMultiaddress = "" }, "listen_multiaddress"},
		{"udp listen", func(c *Config) { c.ListenMultiaddress = "/ip4/127.0.0.1/udp/9095" }, "only tcp"},
		{"bad node", func(c *Config) { c.NodeMultiaddress = "localhost:5001" }, "node_multiaddress"},
		{"negative timeout", func(c *Config) { c.ReadTimeout = config.Duration(-time.Second) }, "read_timeout"},
		{"negative header bytes", func(c *Config) { c.MaxHeaderBytes = -1 }, "max_header_bytes"},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "api.ipfsproxy") {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
}

func TestForwardTo(t *testing.T) {
	c := DefaultConfig()
	if a, err := c.ForwardTo("embedded", "/ip4/127.0.0.1/tcp/5001"); a != "" || err != nil {
		t.Fatalf("embedded: %q %v", a, err)
	}
	if a, err := c.ForwardTo("kubo", "/ip4/10.0.0.1/tcp/5001"); a != "/ip4/10.0.0.1/tcp/5001" || err != nil {
		t.Fatalf("kubo, connector's address: %q %v", a, err)
	}
	c.NodeMultiaddress = "/dns4/kubo/tcp/5001"
	if a, err := c.ForwardTo("kubo", "/ip4/10.0.0.1/tcp/5001"); a != "/dns4/kubo/tcp/5001" || err != nil {
		t.Fatalf("kubo, own address: %q %v", a, err)
	}
	if _, err := c.ForwardTo("embedded", ""); err == nil || !strings.Contains(err.Error(), "only used with the kubo backend") {
		t.Fatalf("node_multiaddress with embedded: %v", err)
	}
}
