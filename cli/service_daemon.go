package cli

import (
	"context"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pincluster/pincluster/peer"
)

// DaemonCmd is `pincluster daemon`.
type DaemonCmd struct {
	Bootstrap []string `name:"bootstrap" sep:"," placeholder:"MADDR,..." help:"Multiaddrs of cluster peers to join."`
	Upgrade   bool     `name:"upgrade" help:"Run state format migrations before starting."`
	Stats     bool     `name:"stats" help:"Serve Prometheus metrics on observations.metrics.prometheus_endpoint (127.0.0.1:8888 by default) for this run."`
}

func (c *DaemonCmd) Run(g *Globals) error {
	// A typo here would otherwise start a cluster of one (ipfs-cluster-service refuses too).
	for _, a := range c.Bootstrap {
		if err := checkBootstrap(strings.TrimSpace(a)); err != nil {
			return err
		}
	}
	return runDaemon(g, g.dir(), peer.DaemonOptions{Bootstrap: c.Bootstrap, Upgrade: c.Upgrade, Stats: c.Stats})
}

// runDaemon runs the daemon on dir until SIGINT, SIGTERM or SIGHUP (daemon, follow NAME run),
// with the fault hooks of the environment and output on the CLI's stdout. SIGHUP stops it
// cleanly, as IPFS Cluster's daemon does: by default it killed the process with no shutdown
// (a closed terminal, a `kill -HUP` meant as "reload"), leaving ops unbroadcast and the
// leave_on_shutdown of a peer undone.
func runDaemon(g *Globals, dir string, opts peer.DaemonOptions) error {
	base := g.baseCtx
	if base == nil {
		base = context.Background()
	}
	ctx, stop := signal.NotifyContext(base, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	hooks, err := faultHooks(ctx)
	if err != nil {
		return err
	}
	opts.Out, opts.Hooks = g.io.Out, hooks
	return peerRunDaemon(ctx, dir, opts)
}

// checkBootstrap checks a --bootstrap address: a multiaddress naming its peer.
func checkBootstrap(a string) error {
	return peer.CheckPeerAddr("--bootstrap", a)
}
