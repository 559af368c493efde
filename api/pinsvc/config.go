package pinsvc

import (
	"fmt"
	"time"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/httpserve"
)

// configKey prefixes every validation error so the operator knows which key to change.
const configKey = "api.pinsvcapi"

// Config is the "api": {"pinsvcapi": {...}} section of service.json. Its fields decode as they
// are, so the file decoder rejects unknown keys. Environment variables CLUSTER_PINSVCAPI_<KEY>
// and PINCLUSTER_PINSVCAPI_<KEY> override the file. Credentials are the REST API's
// (api.restapi.basic_auth_credentials and its bearer tokens).
type Config struct {
	// ListenMultiaddress is the TCP multiaddress the API listens on; port 0 picks a free port.
	ListenMultiaddress string `json:"listen_multiaddress"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout config.Duration `json:"read_header_timeout"`
	// ReadTimeout bounds the time a request body takes to arrive (0: none; the headers are
	// ReadHeaderTimeout's).
	ReadTimeout config.Duration `json:"read_timeout"`
	// WriteTimeout bounds writing a response (0: none).
	WriteTimeout config.Duration `json:"write_timeout"`
	// IdleTimeout is how long a kept-alive connection may wait for its next request.
	IdleTimeout config.Duration `json:"idle_timeout"`
	// MaxHeaderBytes bounds the request headers (0: Go's default, 1 MiB).
	MaxHeaderBytes int `json:"max_header_bytes"`
}

// DefaultListen is IPFS Cluster's pinning service API address.
const DefaultListen = "/ip4/127.0.0.1/tcp/9097"

// DefaultConfig: 127.0.0.1:9097, headers within 5s, bodies within 30s, responses within 60s,
// idle connections closed after 120s (the requests and answers are small JSON documents).
func DefaultConfig() Config {
	return Config{
		ListenMultiaddress: DefaultListen,
		ReadHeaderTimeout:  config.Duration(5 * time.Second),
		ReadTimeout:        config.Duration(30 * time.Second),
		WriteTimeout:       config.Duration(60 * time.Second),
		IdleTimeout:        config.Duration(120 * time.Second),
		MaxHeaderBytes:     1 << 20,
	}
}

// Validate checks every field; errors name the key to change.
func (c Config) Validate() error {
	if _, err := httpserve.ParseTCPAddr(c.ListenMultiaddress, DefaultListen); err != nil {
		return fmt.Errorf("%s.listen_multiaddress: %w", configKey, err)
	}
	for _, d := range []struct {
		key string
		v   config.Duration
	}{{"read_header_timeout", c.ReadHeaderTimeout}, {"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout}, {"idle_timeout", c.IdleTimeout}} {
		if d.v < 0 {
			return fmt.Errorf("%s.%s: must not be negative, got %s (0 disables it)", configKey, d.key, d.v.D())
		}
	}
	if c.MaxHeaderBytes < 0 {
		return fmt.Errorf("%s.max_header_bytes: must not be negative, got %d (0 means Go's default, 1 MiB)", configKey, c.MaxHeaderBytes)
	}
	return nil
}
