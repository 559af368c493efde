package rest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	tests := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"empty addr", func(c *Config) { c.ListenMultiaddress = "" }, "api.restapi.listen_multiaddress: empty"},
		{"not a multiaddr", func(c *Config) { c.ListenMultiaddress = "127.0.0.1:9094" }, "api.restapi.listen_multiaddress: \"127.0.0.1:9094\" is not a multiaddress"},
		{"udp", func(c *Config) { c.ListenMultiaddress = "/ip4/127.0.0.1/udp/9094" }, "only tcp"},
		{"no port", func(c *Config) { c.ListenMultiaddress = "/ip4/127.0.0.1" }, "followed by /tcp/PORT"},
		{"trailing proto", func(c *Config) { c.ListenMultiaddress = "/ip4/127.0.0.1/tcp/1/http" }, "followed by /tcp/PORT"},
		{"negative idle", func(c *Config) { c.IdleTimeout = -time.Second }, "api.restapi.idle_timeout"},
		{"negative write", func(c *Config) { c.WriteTimeout = -time.Second }, "api.restapi.write_timeout"},
		{"zero body", func(c *Config) { c.MaxBodyBytes = 0 }, "api.restapi.max_body_bytes"},
		{"zero add", func(c *Config) { c.MaxAddBytes = 0 }, "api.restapi.max_add_bytes"},
		{"negative header", func(c *Config) { c.MaxHeaderBytes = -1 }, "api.restapi.max_header_bytes"},
		{"user with colon", func(c *Config) { c.BasicAuthCredentials = map[string]string{"a:b": "p"} }, "api.restapi.basic_auth_credentials"},
		{"empty origin", func(c *Config) { c.CORSAllowedOrigins = []string{" "} }, "api.restapi.cors_allowed_origins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.want)
			}
		})
	}
	for _, ok := range []string{"/ip4/0.0.0.0/tcp/0", "/ip6/::1/tcp/9094", "/dns4/localhost/tcp/9094"} {
		c := DefaultConfig()
		c.ListenMultiaddress = ok
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestConfigJSON(t *testing.T) {
	c := DefaultConfig()
	c.BasicAuthCredentials = map[string]string{"u": "p"}
	c.WriteTimeout = 90 * time.Second
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"listen_multiaddress":"/ip4/127.0.0.1/tcp/9094"`, `"read_header_timeout":"30s"`, `"write_timeout":"1m30s"`, `"basic_auth_credentials":{"u":"p"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not contain %s", b, want)
		}
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.WriteTimeout != c.WriteTimeout || back.ListenMultiaddress != c.ListenMultiaddress || back.MaxAddBytes != c.MaxAddBytes || back.BasicAuthCredentials["u"] != "p" {
		t.Fatalf("round trip: got %+v, want %+v", back, c)
	}

	// Missing keys keep the values decoded over; IPFS Cluster's key name is accepted.
	d := DefaultConfig()
	if err := json.Unmarshal([]byte(`{"http_listen_multiaddress": "/ip4/127.0.0.1/tcp/1234", "idle_timeout": "5s"}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.ListenMultiaddress != "/ip4/127.0.0.1/tcp/1234" || d.IdleTimeout != 5*time.Second || d.MaxBodyBytes != DefaultConfig().MaxBodyBytes {
		t.Fatalf("partial decode: %+v", d)
	}

	err = json.Unmarshal([]byte(`{"idle_timeout": "soon"}`), &d)
	if err == nil || !strings.Contains(err.Error(), "api.restapi.idle_timeout") {
		t.Fatalf("bad duration: %v", err)
	}
}

func TestConfigApplyEnv(t *testing.T) {
	env := map[string]string{
		"CLUSTER_RESTAPI_HTTPLISTENMULTIADDRESS":    "/ip4/0.0.0.0/tcp/1",
		"PINCLUSTER_RESTAPI_BASIC_AUTH_CREDENTIALS": "a:x,b:y:z",
		"PINCLUSTER_RESTAPI_IDLE_TIMEOUT":           "7s",
	}
	c := DefaultConfig()
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.ListenMultiaddress != "/ip4/0.0.0.0/tcp/1" || c.BasicAuthCredentials["a"] != "x" || c.BasicAuthCredentials["b"] != "y:z" || c.IdleTimeout != 7*time.Second {
		t.Fatalf("ApplyEnv: %+v", c)
	}
	for k, v := range map[string]string{"PINCLUSTER_RESTAPI_BASIC_AUTH_CREDENTIALS": "nocolon", "PINCLUSTER_RESTAPI_WRITE_TIMEOUT": "x"} {
		err := (&Config{}).ApplyEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}

// read_timeout is IPFS Cluster's key; it round-trips, is checked, and the restapi section is
// decoded strictly, so a misspelt key is an error naming it rather than a limit silently lost.
func TestConfigReadTimeout(t *testing.T) {
	if d := DefaultConfig().ReadTimeout; d != 30*time.Second {
		t.Fatalf("default read_timeout %s", d)
	}
	c := DefaultConfig()
	c.ReadTimeout = 90 * time.Second
	b, _ := json.Marshal(c)
	if !strings.Contains(string(b), `"read_timeout":"1m30s"`) {
		t.Fatalf("%s has no read_timeout", b)
	}
	back := DefaultConfig()
	if err := json.Unmarshal(b, &back); err != nil || back.ReadTimeout != 90*time.Second {
		t.Fatalf("round trip: %s, %v", back.ReadTimeout, err)
	}
	d := DefaultConfig()
	if err := json.Unmarshal([]byte(`{"read_timeout": "0s"}`), &d); err != nil || d.ReadTimeout != 0 || d.Validate() != nil {
		t.Fatalf("0s disables it: %s, %v", d.ReadTimeout, err)
	}
	for doc, want := range map[string]string{
		`{"read_timeout": "soon"}`:      `api.restapi.read_timeout: "soon" is not a duration`,
		`{"read_timout": "5s"}`:         `api.restapi: unknown key "read_timout"`,
		`{"read_timeout": 5}`:           `api.restapi`,
		`{"http_log_file": "x.log"}`:    `unknown key "http_log_file"`,
		`{"listen_multiaddress": 1}`:    `api.restapi`,
		`{"max_body_bytes": "1 MiB"}`:   `api.restapi`,
		`{"basic_auth_credentials": 1}`: `api.restapi`,
	} {
		d := DefaultConfig()
		err := json.Unmarshal([]byte(doc), &d)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", doc, err, want)
		}
	}
	neg := DefaultConfig()
	neg.ReadTimeout = -time.Second
	if err := neg.Validate(); err == nil || !strings.Contains(err.Error(), "api.restapi.read_timeout: must not be negative") {
		t.Fatalf("negative: %v", err)
	}
	env := DefaultConfig()
	if err := env.ApplyEnv(func(k string) string {
		if k == "PINCLUSTER_RESTAPI_READ_TIMEOUT" {
			return "7s"
		}
		return ""
	}); err != nil || env.ReadTimeout != 7*time.Second {
		t.Fatalf("env: %s, %v", env.ReadTimeout, err)
	}
}
