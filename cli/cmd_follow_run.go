package cli

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/pincluster/pincluster/peer"
)

// FollowRunCmd is `pincluster follow NAME run`: the daemon on the follower's directory, in
// follower mode whatever its file says.
type FollowRunCmd struct{}

func (c *FollowRunCmd) Run(g *Globals, f *FollowCmd, n *FollowNameCmd) error {
	dir, err := f.followerDir(n.Name)
	if err != nil {
		return err
	}
	base := g.baseCtx
	if base == nil {
		base = context.Background()
	}
	ctx, stop := signal.NotifyContext(base, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hooks, err := faultHooks(ctx)
	if err != nil {
		return err
	}
	return peerRunDaemon(ctx, dir, peer.DaemonOptions{Follower: true, Out: g.io.Out, Hooks: hooks})
}
