package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/peer"
)

// FollowInfoCmd is `pincluster follow NAME info`.
type FollowInfoCmd struct{}

// followerInfo is what info shows.
type followerInfo struct {
	follower
	Cluster      string   `json:"cluster_name"`
	TrustedPeers []string `json:"trusted_peers"`
	Peerstore    []string `json:"peerstore"`
	RESTAPI      string   `json:"rest_api,omitempty"`
	// ClusterPeers is how many cluster peers the running follower sees (itself included).
	ClusterPeers *int `json:"cluster_peers,omitempty"`
}

func (c *FollowInfoCmd) Run(g *Globals, f *FollowCmd, n *FollowNameCmd) error {
	dir, err := f.followerDir(n.Name)
	if err != nil {
		return err
	}
	if !servicejson.Exists(dir) {
		return fmt.Errorf("no follower %q in %s: set it up with 'pincluster follow %s init TEMPLATE --bootstrap MADDR'", n.Name, f.followRoot(), n.Name)
	}
	cfg, err := servicejson.Load(dir)
	if err != nil {
		return err
	}
	fl, err := readFollower(n.Name, dir)
	if err != nil {
		return err
	}
	info := followerInfo{follower: fl, Cluster: cfg.Consensus.CRDT.ClusterName, TrustedPeers: cfg.Consensus.CRDT.TrustedPeers}
	if b, err := os.ReadFile(filepath.Join(dir, peer.PeerstoreFile)); err == nil {
		info.Peerstore = strings.Fields(string(b))
	}
	if fl.Running {
		fg := *g
		fg.Config, fg.Host = dir, nil
		if hs, err := fg.hosts(); err == nil {
			info.RESTAPI = strings.Join(hs, ",")
		}
		if cl, err := fg.client(); err == nil {
			ctx, cancel := fg.ctx(false)
			if id, err := cl.ID(ctx); err == nil {
				n := len(id.ClusterPeers)
				info.ClusterPeers = &n
			}
			cancel()
		}
	}
	if g.json() {
		return g.printJSON(info)
	}
	rows := [][]string{
		{"follower:", info.Name},
		{"directory:", info.Dir},
		{"peer ID:", info.ID},
		{"cluster:", info.Cluster},
		{"trusted peers:", strings.Join(info.TrustedPeers, ", ")},
		{"peerstore:", strings.Join(info.Peerstore, ", ")},
		{"running:", fmt.Sprint(info.Running)},
	}
	if info.RESTAPI != "" {
		rows = append(rows, []string{"REST API:", info.RESTAPI})
	}
	if info.ClusterPeers != nil {
		rows = append(rows, []string{"cluster peers:", fmt.Sprint(*info.ClusterPeers)})
	}
	printTable(g, rows)
	return nil
}
