package ipfsproxy

import (
	"fmt"
	"time"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/httpserve"
)

// configKey prefixes every validation error so the operator knows which key to change.
const configKey = "api.ipfsproxy"

// Config is the "api": {"ipfsproxy": {...}} section of service.json, with IPFS Cluster's keys.
// Its fields decode as they are (config.Duration reads "30s"), so the file decoder
// (internal/strictjson) rejects unknown keys in it. IPFS Cluster's node_https,
// extract_headers_extra, extract_headers_path and extract_headers_ttl are not implemented, so
// not read: a file that sets them gets an unknown-key error. Environment variables
// CLUSTER_IPFSPROXY_<KEY> and PINCLUSTER_IPFSPROXY_<KEY> override the file (the peer applies
// them with config.ApplyEnv).
type Config struct {
	// ListenMultiaddress is the TCP multiaddress the proxy listens on; port 0 picks a free port.
	// It has no authentication (as IPFS Cluster's proxy): keep it on a loopback address.
	ListenMultiaddress string `json:"listen_multiaddress"`
	// NodeMultiaddress is the Kubo RPC API that requests the proxy does not handle itself are
	// forwarded to. Empty: ipfs_connector.node_multiaddress. Only with the kubo backend (the
	// embedded node has no RPC API to forward to): set with the embedded backend it is an error.
	NodeMultiaddress string `json:"node_multiaddress,omitempty"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout config.Duration `json:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included (0: none, the default, as an
	// add's body may be gigabytes).
	ReadTimeout config.Duration `json:"read_timeout"`
	// WriteTimeout bounds writing a response (0: none, the default: a cat or a pin ls of a
	// large pinset takes long).
	WriteTimeout config.Duration `json:"write_timeout"`
	// IdleTimeout is how long a kept-alive connection may wait for its next request.
	IdleTimeout config.Duration `json:"idle_timeout"`
	// MaxHeaderBytes bounds the request headers (0: Go's default, 1 MiB).
	MaxHeaderBytes int `json:"max_header_bytes"`
}

// DefaultListen is IPFS Cluster's proxy address.
const DefaultListen = "/ip4/127.0.0.1/tcp/9095"

// DefaultConfig has IPFS Cluster's defaults: 127.0.0.1:9095, headers within 5s, no read or write
// timeout, idle connections closed after 60s, node_multiaddress from the ipfs_connector section.
func DefaultConfig() Config {
	return Config{
		ListenMultiaddress: DefaultListen,
		ReadHeaderTimeout:  config.Duration(5 * time.Second),
		IdleTimeout:        config.Duration(60 * time.Second),
		MaxHeaderBytes:     1 << 20,
	}
}

// Validate checks every field; errors name the key to change.
func (c Config) Validate() error {
	if _, err := httpserve.ParseTCPAddr(c.ListenMultiaddress, DefaultListen); err != nil {
		return fmt.Errorf("%s.listen_multiaddress: %w", configKey, err)
	}
	if c.NodeMultiaddress != "" {
		if _, err := httpserve.ParseTCPAddr(c.NodeMultiaddress, DefaultListen); err != nil {
			return fmt.Errorf("%s.node_multiaddress: %w", configKey, err)
		}
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

// ForwardTo is the Kubo RPC API address the proxy forwards to for an IPFS backend ("kubo" or
// "embedded") whose connector address is connectorAddr: node_multiaddress, or connectorAddr
// when it is empty, for kubo; "" (nothing is forwarded) for embedded, where setting
// node_multiaddress is an error (it would be read and ignored).
func (c Config) ForwardTo(backend, connectorAddr string) (string, error) {
	if backend != "kubo" {
		if c.NodeMultiaddress != "" {
			return "", fmt.Errorf("%s.node_multiaddress: only used with the kubo backend (ipfs_connector.backend is %q, whose node the proxy serves itself); remove the key", configKey, backend)
		}
		return "", nil
	}
	addr := c.NodeMultiaddress
	if addr == "" {
		addr = connectorAddr
	}
	if _, err := httpserve.ParseTCPAddr(addr, DefaultListen); err != nil {
		return "", fmt.Errorf("%s.node_multiaddress (or ipfs_connector.node_multiaddress): %w", configKey, err)
	}
	return addr, nil
}
