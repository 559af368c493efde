package cli

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
	fg := *g
	fg.Config, fg.Host = dir, nil
	return (&StatusCmd{Local: true, Filter: c.Filter}).Run(&fg)
}
