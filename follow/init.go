// Package follow sets up a follower peer's configuration directory (`pincluster follow NAME
// init`), as ipfs-cluster-follow's init does from a configuration template. It is setup, not
// assembly: the follower then runs through peer.RunDaemon like any peer, with follower_mode set.
package follow

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/atomicfile"
	"github.com/pincluster/pincluster/internal/dirlock"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/internal/strictjson"
	"github.com/pincluster/pincluster/peer"
)

// Init describes a follower peer to set up (`pincluster follow NAME init`), as
// ipfs-cluster-follow's init does from a configuration template.
type Init struct {
	// Template is a service.json fragment (the cluster operator's: cluster.secret,
	// consensus.crdt.cluster_name and trusted_peers, ...), decoded strictly over the defaults;
	// nil when none was given.
	Template []byte
	// Bootstrap are multiaddrs (with /p2p/) of the cluster's peers, written to the peerstore
	// file: the follower dials them at start.
	Bootstrap []string
	// Secret is the cluster secret; it overrides the template's.
	Secret string
	Out    io.Writer
}

// Write writes a follower's configuration (follower_mode set, free random ports so
// that several followers and a peer share a machine, the template over the defaults, then the
// environment), a new identity and the peerstore in dir. dir must not hold a configuration yet.
// A template must name the cluster's secret (or Secret), and the follower needs a way in:
// Bootstrap.
func Write(dir string, fi Init) error {
	out := fi.Out
	if out == nil {
		out = io.Discard
	}
	if servicejson.Exists(dir) {
		return fmt.Errorf("%s is already initialized as a follower: delete it to initialize it again", dir)
	}
	if len(fi.Bootstrap) == 0 {
		return fmt.Errorf("a follower needs the address of a cluster peer to join: give --bootstrap /ip4/.../tcp/.../p2p/<id>")
	}
	for _, a := range fi.Bootstrap {
		if err := peer.CheckPeerAddr("--bootstrap", a); err != nil {
			return err
		}
	}
	cfg := servicejson.Default()
	if err := cfg.RandomizePorts(dir); err != nil {
		return err
	}
	cfg.Cluster.Secret = "" // a follower must be told the cluster's secret: a random one joins nothing
	if len(fi.Template) > 0 {
		if err := strictjson.Decode("", fi.Template, &cfg); err != nil {
			return fmt.Errorf("the template: %w", err)
		}
	}
	if err := cfg.ApplyEnv(); err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	if s := strings.TrimSpace(fi.Secret); s != "" {
		cfg.Cluster.Secret = s
	}
	if cfg.Cluster.Secret == "" {
		return fmt.Errorf("a follower needs the cluster's secret: give --secret, CLUSTER_SECRET or a template with cluster.secret")
	}
	cfg.Cluster.FollowerMode = true
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	lock, err := dirlock.Take(dir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if servicejson.Exists(dir) {
		return fmt.Errorf("%s is already initialized as a follower: delete it to initialize it again", dir)
	}
	ident, err := identity.New()
	if err != nil {
		return err
	}
	if err := cfg.Save(dir); err != nil {
		return err
	}
	if err := ident.Save(dir); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, peer.PeerstoreFile), []byte(strings.Join(fi.Bootstrap, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(out, "initialized follower peer %s in %s (cluster %q)\n", ident.ID, dir, cfg.Consensus.CRDT.ClusterName)
	if trustsAll(cfg.Consensus.CRDT.TrustedPeers) {
		fmt.Fprintln(out, "note: consensus.crdt.trusted_peers is [\"*\"]: the cluster's peers should list their trusted peers, or they trust this follower too")
	}
	return nil
}

func trustsAll(trusted []string) bool {
	for _, t := range trusted {
		if t == "*" {
			return true
		}
	}
	return false
}
