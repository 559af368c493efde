package faults

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/pincluster/pincluster/config"
)

// EnvVar names the fault file; unset means no fault injection.
const EnvVar = "PINCLUSTER_FAULTS"

// Config is the content of the fault file. The zero value injects nothing.
type Config struct {
	// BlockPeers are peer IDs this peer refuses to connect to (a partition).
	BlockPeers []string `json:"block_peers,omitempty"`
	// ClockSkew is added to the wall time read by the hybrid logical clock.
	ClockSkew config.Duration `json:"clock_skew,omitempty"`
	// DiskFull makes every pinset store write fail with ENOSPC.
	DiskFull bool `json:"disk_full,omitempty"`
	// IPFSDelay delays every IPFS Pin and Unpin (bounded by the caller's context).
	IPFSDelay config.Duration `json:"ipfs_delay,omitempty"`
	// IPFSFail makes every IPFS Pin and Unpin fail (after IPFSDelay).
	IPFSFail bool `json:"ipfs_fail,omitempty"`
}

// Load reads a fault file.
func Load(path string) (Config, error) {
	var c Config
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("faults: reading %s (%s): %w", path, EnvVar, err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("faults: parsing %s (%s): %w", path, EnvVar, err)
	}
	return c, nil
}

// Save writes c to path atomically (a temp file renamed over it), so a daemon reloading on
// SIGUSR1 never reads half a file.
func Save(path string, c Config) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
