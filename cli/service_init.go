package cli

import "github.com/pincluster/pincluster/peer"

// InitCmd is `pincluster init`.
type InitCmd struct {
	Peers       []string `name:"peers" sep:"," placeholder:"MADDR,..." help:"Multiaddrs of existing cluster peers to write to the peerstore."`
	RandomPorts bool     `name:"randomports" help:"Pick free random ports for every listener."`
	Force       bool     `name:"force" short:"f" help:"Overwrite an existing configuration and identity."`
}

func (c *InitCmd) Run(g *Globals) error {
	return peerInit(g.dir(), peer.InitOptions{Peers: c.Peers, RandomPorts: c.RandomPorts, Force: c.Force, Out: g.io.Out})
}

// peerInit and peerRunDaemon are the service entry points (variables so tests can observe the
// wiring without starting a peer).
var (
	peerInit      = peer.Init
	peerRunDaemon = peer.RunDaemon
)
