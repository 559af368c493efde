package cli

import (
	"fmt"

	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/dirlock"
)

// FollowPinsListCmd is `pincluster follow NAME list`: the follower's pinset with its local
// status (status --local against the running follower), as ipfs-cluster-follow NAME list.
type FollowPinsListCmd struct {
	Filter string `name:"filter" placeholder:"STATUS,..." help:"Only pins with one of these statuses (as status --filter)."`
}

func (c *FollowPinsListCmd) Run(g *Globals, f *FollowCmd, n *FollowNameCmd) error {
	dir, err := f.followerDir(n.Name)
	if err != nil {
		return err
	}
	if !servicejson.Exists(dir) {
		return fmt.Errorf("no follower %q in %s: set it up with 'pincluster follow %s init TEMPLATE --bootstrap MADDR'", n.Name, f.followRoot(), n.Name)
	}
	if running, err := dirlock.DaemonRunning(dir); err != nil {
		return err
	} else if !running {
		return fmt.Errorf("%w: the follower %q is not running; start it with 'pincluster follow %s run'", ErrNoDaemon, n.Name, n.Name)
	}
	fg := *g
	fg.Config, fg.Host = dir, nil
	return (&StatusCmd{Local: true, Filter: c.Filter}).Run(&fg)
}
