package peer

import (
	"context"
	"errors"
	"io"
)

// InitOptions are the flags of `pincluster init`.
type InitOptions struct {
	Peers       []string // --peers: multiaddrs written to the peerstore file
	RandomPorts bool     // --randomports: pick free loopback-safe ports for every listener
	Force       bool     // -f: overwrite an existing config and identity
	Out         io.Writer
}

// DaemonOptions are the flags of `pincluster daemon`.
type DaemonOptions struct {
	Bootstrap []string // --bootstrap multiaddrs
	Upgrade   bool     // --upgrade: run state migrations before starting
	Out       io.Writer
}

// Init writes a default config (service.json) and identity (identity.json) in dir.
// Stub: replaced by the real implementation.
func Init(dir string, opts InitOptions) error { return errors.New("not implemented") }

// RunDaemon creates config and identity in dir when missing, starts the peer and blocks until
// ctx is cancelled (SIGINT/SIGTERM), then shuts down cleanly.
func RunDaemon(ctx context.Context, dir string, opts DaemonOptions) error {
	return errors.New("not implemented")
}
