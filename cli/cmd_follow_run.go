package cli

import (
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/peer"
)

// FollowRunCmd is `pincluster follow NAME run [--init TEMPLATE|- --bootstrap MADDR]`: the
// daemon on the follower's directory, in follower mode whatever its file says. With --init
// (as ipfs-cluster-follow's run --init) a follower not yet set up is set up first; one
// already set up runs as it is.
type FollowRunCmd struct {
	Init      string   `name:"init" placeholder:"TEMPLATE" help:"Set the follower up first from this template (a file, or - for stdin) unless it already is."`
	Bootstrap []string `name:"bootstrap" sep:"," placeholder:"MADDR,..." help:"With --init: multiaddrs of cluster peers to join."`
	Secret    string   `name:"secret" placeholder:"HEX" help:"With --init: the cluster secret."`
}

func (c *FollowRunCmd) Run(g *Globals, f *FollowCmd, n *FollowNameCmd) error {
	dir, err := f.followerDir(n.Name)
	if err != nil {
		return err
	}
	if c.Init != "" && !servicejson.Exists(dir) {
		in := FollowInitCmd{Template: c.Init, Bootstrap: c.Bootstrap, Secret: c.Secret}
		if err := in.Run(g, f, n); err != nil {
			return err
		}
	}
	return runDaemon(g, dir, peer.DaemonOptions{Follower: true})
}
