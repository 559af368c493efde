// Package config holds pincluster's configuration: one JSON file (service.json) with a section
// per component, each with Default() and Validate(), plus environment overrides.
package config

import (
	"os"
	"path/filepath"
)

const (
	// EnvPath selects the config directory when --config is not given.
	EnvPath = "PINCLUSTER_PATH"
	// ConfigFile, IdentityFile, APIFile and LockFile are the names of files in the config dir.
	ConfigFile   = "service.json"
	IdentityFile = "identity.json"
	// APIFile holds the REST API multiaddr of the running daemon (written at start, removed at
	// stop), so client commands without --host reach the daemon of their config dir.
	APIFile  = "api"
	LockFile = "daemon.lock"
)

// DefaultDir is $PINCLUSTER_PATH, else ~/.pincluster.
func DefaultDir() string {
	if p := os.Getenv(EnvPath); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ".pincluster"
	}
	return filepath.Join(home, ".pincluster")
}

// ResolveDir returns flagDir when set, else DefaultDir.
func ResolveDir(flagDir string) string {
	if flagDir != "" {
		return flagDir
	}
	return DefaultDir()
}
