package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pincluster/pincluster/internal/httpserve"
)

// configKey prefixes every validation error so the operator knows which key to change.
const configKey = "api.restapi"

// Config configures the REST API server. Its JSON form is the "api": {"restapi": {...}} section
// of service.json, with durations as strings ("30s").
type Config struct {
	// ListenMultiaddress is the TCP multiaddress to listen on; port 0 picks a free port.
	ListenMultiaddress string
	ReadHeaderTimeout  time.Duration
	// ReadTimeout bounds reading a request body (IPFS Cluster's read_timeout), so a client
	// that trickles one byte at a time cannot hold a connection: the whole body must arrive
	// within it, except on POST /add, whose body may be gigabytes and may take hours, where it
	// bounds each stall instead (no byte for that long). 0 disables it.
	ReadTimeout time.Duration
	IdleTimeout time.Duration
	// WriteTimeout is 0 (none) by default: streams of large pinsets take long.
	WriteTimeout time.Duration
	// MaxBodyBytes limits request bodies other than POST /add.
	MaxBodyBytes int64
	// MaxAddBytes limits POST /add bodies.
	MaxAddBytes    int64
	MaxHeaderBytes int
	// BasicAuthCredentials maps user to password; empty means no authentication. A user's
	// password also signs the user's bearer tokens, so changing it revokes them.
	BasicAuthCredentials map[string]string
	// BasicAuthPermissions maps user to permissions ("read", "pin", "admin"); a user not listed
	// has "admin" (everything). Tokens get at most their user's permissions.
	BasicAuthPermissions map[string][]string
	// TokenTTL is the lifetime of a token when POST /token does not ask for one.
	TokenTTL time.Duration
	// TokenMaxTTL bounds the lifetime POST /token may ask for.
	TokenMaxTTL time.Duration
	// CORSAllowedOrigins lists origins allowed by CORS ("*" for any); empty disables CORS.
	CORSAllowedOrigins []string
}

// DefaultConfig returns the defaults: 127.0.0.1:9094, no auth, 1 MiB bodies, 64 GiB adds,
// bodies within 30s (IPFS Cluster has no read_timeout by default, which leaves a connection to
// any client that trickles its body), tokens valid 24h by default and at most 30 days.
func DefaultConfig() Config {
	return Config{
		ListenMultiaddress: "/ip4/127.0.0.1/tcp/9094",
		ReadHeaderTimeout:  30 * time.Second,
		ReadTimeout:        30 * time.Second,
		IdleTimeout:        2 * time.Minute,
		WriteTimeout:       0,
		MaxBodyBytes:       1 << 20,
		MaxAddBytes:        64 << 30,
		MaxHeaderBytes:     1 << 20,
		TokenTTL:           24 * time.Hour,
		TokenMaxTTL:        30 * 24 * time.Hour,
	}
}

// Validate checks every field; errors name the JSON key to change.
func (c Config) Validate() error {
	if _, err := httpserve.ParseTCPAddr(c.ListenMultiaddress, DefaultConfig().ListenMultiaddress); err != nil {
		return fmt.Errorf("%s.listen_multiaddress: %w", configKey, err)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header_timeout", c.ReadHeaderTimeout}, {"read_timeout", c.ReadTimeout}, {"idle_timeout", c.IdleTimeout}, {"write_timeout", c.WriteTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("%s.%s: must not be negative, got %s (0 disables it)", configKey, d.key, d.v)
		}
	}
	if c.MaxBodyBytes <= 0 {
		return fmt.Errorf("%s.max_body_bytes: must be positive, got %d (default %d)", configKey, c.MaxBodyBytes, DefaultConfig().MaxBodyBytes)
	}
	if c.MaxAddBytes <= 0 {
		return fmt.Errorf("%s.max_add_bytes: must be positive, got %d (default %d)", configKey, c.MaxAddBytes, DefaultConfig().MaxAddBytes)
	}
	if c.MaxHeaderBytes < 0 {
		return fmt.Errorf("%s.max_header_bytes: must not be negative, got %d (0 means Go's default, 1 MiB)", configKey, c.MaxHeaderBytes)
	}
	if err := c.validateAuth(); err != nil {
		return err
	}
	for _, o := range c.CORSAllowedOrigins {
		if strings.TrimSpace(o) == "" {
			return fmt.Errorf("%s.cors_allowed_origins: empty origin (use \"*\" or an origin like https://example.com)", configKey)
		}
	}
	return nil
}

// jsonConfig is Config's JSON form.
type jsonConfig struct {
	ListenMultiaddress     string              `json:"listen_multiaddress"`
	HTTPListenMultiaddress string              `json:"http_listen_multiaddress,omitempty"` // IPFS Cluster's name, read only
	ReadHeaderTimeout      string              `json:"read_header_timeout"`
	ReadTimeout            string              `json:"read_timeout"`
	IdleTimeout            string              `json:"idle_timeout"`
	WriteTimeout           string              `json:"write_timeout"`
	MaxBodyBytes           int64               `json:"max_body_bytes"`
	MaxAddBytes            int64               `json:"max_add_bytes"`
	MaxHeaderBytes         int                 `json:"max_header_bytes"`
	BasicAuthCredentials   map[string]string   `json:"basic_auth_credentials"`
	BasicAuthPermissions   map[string][]string `json:"basic_auth_permissions,omitempty"`
	TokenTTL               string              `json:"token_ttl"`
	TokenMaxTTL            string              `json:"token_max_ttl"`
	CORSAllowedOrigins     []string            `json:"cors_allowed_origins,omitempty"`
}

// toJSON is c's JSON form, durations as strings like "30s".
func (c Config) toJSON() jsonConfig {
	return jsonConfig{
		ListenMultiaddress:   c.ListenMultiaddress,
		ReadHeaderTimeout:    c.ReadHeaderTimeout.String(),
		ReadTimeout:          c.ReadTimeout.String(),
		IdleTimeout:          c.IdleTimeout.String(),
		WriteTimeout:         c.WriteTimeout.String(),
		MaxBodyBytes:         c.MaxBodyBytes,
		MaxAddBytes:          c.MaxAddBytes,
		MaxHeaderBytes:       c.MaxHeaderBytes,
		BasicAuthCredentials: c.BasicAuthCredentials,
		BasicAuthPermissions: c.BasicAuthPermissions,
		TokenTTL:             c.TokenTTL.String(),
		TokenMaxTTL:          c.TokenMaxTTL.String(),
		CORSAllowedOrigins:   c.CORSAllowedOrigins,
	}
}

// MarshalJSON writes durations as strings like "30s".
func (c Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(c.toJSON())
}

// UnmarshalJSON reads the JSON form over c's current values, so keys left out keep them
// (decode into DefaultConfig() to get defaults for missing keys). Unknown keys are errors: the
// outer decoder's DisallowUnknownFields does not reach into a custom decoder, and a misspelt key
// silently ignored (say "read_timout") would leave the server without the limit it asked for.
func (c *Config) UnmarshalJSON(b []byte) error {
	j := c.toJSON()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		if k, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("%s: unknown key %s (check its spelling against `pincluster init` output)", configKey, k)
		}
		return fmt.Errorf("%s: %w", configKey, err)
	}
	out := Config{
		ListenMultiaddress:   j.ListenMultiaddress,
		MaxBodyBytes:         j.MaxBodyBytes,
		MaxAddBytes:          j.MaxAddBytes,
		MaxHeaderBytes:       j.MaxHeaderBytes,
		BasicAuthCredentials: j.BasicAuthCredentials,
		BasicAuthPermissions: j.BasicAuthPermissions,
		CORSAllowedOrigins:   j.CORSAllowedOrigins,
	}
	if j.HTTPListenMultiaddress != "" && j.ListenMultiaddress == c.ListenMultiaddress {
		out.ListenMultiaddress = j.HTTPListenMultiaddress
	}
	for _, d := range []struct {
		key string
		s   string
		dst *time.Duration
	}{{"read_header_timeout", j.ReadHeaderTimeout, &out.ReadHeaderTimeout}, {"read_timeout", j.ReadTimeout, &out.ReadTimeout}, {"idle_timeout", j.IdleTimeout, &out.IdleTimeout}, {"write_timeout", j.WriteTimeout, &out.WriteTimeout},
		{"token_ttl", j.TokenTTL, &out.TokenTTL}, {"token_max_ttl", j.TokenMaxTTL, &out.TokenMaxTTL}} {
		v, err := parseDuration(d.s)
		if err != nil {
			return fmt.Errorf("%s.%s: %q is not a duration (e.g. 30s, 2m): %v", configKey, d.key, d.s, err)
		}
		*d.dst = v
	}
	*c = out
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	return time.ParseDuration(s)
}
