package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/pincluster/pincluster/follow"
)

// maxTemplate bounds a template (a service.json fragment is a few kilobytes).
const maxTemplate = 1 << 20

// FollowInitCmd is `pincluster follow NAME init [TEMPLATE|-] [--bootstrap MADDR] [--secret S]`.
type FollowInitCmd struct {
	Template  string   `arg:"" optional:"" placeholder:"TEMPLATE" help:"A service.json fragment from the cluster's operator (secret, cluster_name, trusted_peers, ...): a file, or - to read stdin."`
	Bootstrap []string `name:"bootstrap" sep:"," placeholder:"MADDR,..." help:"Multiaddrs (with /p2p/<id>) of cluster peers to join (required)."`
	Secret    string   `name:"secret" placeholder:"HEX" help:"The cluster secret (overrides the template's and CLUSTER_SECRET)."`
}

func (c *FollowInitCmd) Run(g *Globals, f *FollowCmd, n *FollowNameCmd) error {
	dir, err := f.followerDir(n.Name)
	if err != nil {
		return err
	}
	var tmpl []byte
	switch c.Template {
	case "":
	case "-":
		tmpl, err = readTemplate(g.io.In, "stdin")
	default:
		var fh *os.File
		if fh, err = os.Open(c.Template); err == nil {
			tmpl, err = readTemplate(fh, c.Template)
			fh.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("reading the template: %w", err)
	}
	if len(tmpl) == 0 && c.Secret == "" && os.Getenv("CLUSTER_SECRET") == "" && os.Getenv("PINCLUSTER_SECRET") == "" {
		return fmt.Errorf("give a template (a service.json fragment file, or - for stdin) or --secret: a follower needs the cluster's secret")
	}
	if err := peerInitFollower(dir, follow.Init{Template: tmpl, Bootstrap: c.Bootstrap, Secret: c.Secret, Out: g.io.Out}); err != nil {
		return err
	}
	g.printf("run it with: pincluster follow %s run\n", n.Name)
	return nil
}

func readTemplate(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxTemplate+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTemplate {
		return nil, fmt.Errorf("%s is larger than %d bytes: a template is a service.json fragment", name, maxTemplate)
	}
	return b, nil
}

// peerInitFollower and peerRunFollower are variables so tests can observe the wiring.
var peerInitFollower = follow.Write
