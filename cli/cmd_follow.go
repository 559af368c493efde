package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/dirlock"
	"github.com/pincluster/pincluster/internal/identity"
)

// FollowCmd is `pincluster follow`: follower peers (cluster.follower_mode), as
// ipfs-cluster-follow runs them. Each follower has its own directory (configuration,
// identity, pinset, IPFS node) under the follow directory, ~/.pincluster-follow/NAME by
// default; NAME is local, the cluster is the template's.
//
//	pincluster follow NAME init [TEMPLATE|-] [--bootstrap MADDR] [--secret S]
//	pincluster follow NAME run
//	pincluster follow NAME info
//	pincluster follow NAME list          # the follower's pinset with its local status
//	pincluster follow list               # the followers set up here
type FollowCmd struct {
	Dir string `name:"follow-dir" env:"PINCLUSTER_FOLLOW_PATH" placeholder:"DIR" help:"Directory of the followers' directories (default ~/.pincluster-follow)."`

	List FollowListCmd `cmd:"" help:"List the followers set up in the follow directory."`
	Name FollowNameCmd `arg:"" help:"A follower (its directory's name under the follow directory)."`
}

// FollowNameCmd is `pincluster follow NAME ...`.
type FollowNameCmd struct {
	Name string `arg:"" help:"The follower's name."`

	Init FollowInitCmd     `cmd:"" help:"Set up the follower from a template (a service.json fragment: a file, or - for stdin) and/or --bootstrap and --secret."`
	Run  FollowRunCmd      `cmd:"" help:"Run the follower peer (until SIGINT or SIGTERM)."`
	Info FollowInfoCmd     `cmd:"" default:"1" help:"Show the follower's directory, identity, cluster and whether it runs."`
	List FollowPinsListCmd `cmd:"" help:"List the follower's pinset with its local status (the follower must run)."`
}

// followRoot is the follow directory: --follow-dir, $PINCLUSTER_FOLLOW_PATH or
// ~/.pincluster-follow.
func (f *FollowCmd) followRoot() string {
	if f.Dir != "" {
		return f.Dir
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ".pincluster-follow"
	}
	return filepath.Join(home, ".pincluster-follow")
}

// followerDir is NAME's directory; NAME must be a plain name.
func (f *FollowCmd) followerDir(name string) (string, error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return "", fmt.Errorf("follower name %q: use a plain name (letters, digits, - and _), not a path", name)
	}
	return filepath.Join(f.followRoot(), name), nil
}

// follower is what list and info show of one follower directory.
type follower struct {
	Name    string `json:"name"`
	Dir     string `json:"dir"`
	ID      string `json:"id"`
	Running bool   `json:"running"`
}

func readFollower(name, dir string) (follower, error) {
	fl := follower{Name: name, Dir: dir}
	ident, err := identity.Load(dir)
	if err != nil {
		return fl, fmt.Errorf("%s: %w", dir, err)
	}
	fl.ID = ident.ID.String()
	fl.Running, err = dirlock.DaemonRunning(dir)
	return fl, err
}

// FollowListCmd is `pincluster follow list`.
type FollowListCmd struct{}

func (c *FollowListCmd) Run(g *Globals, f *FollowCmd) error {
	root := f.followRoot()
	entries, err := os.ReadDir(root)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading the follow directory %s: %w", root, err)
	}
	var out []follower
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() || !fileExists(filepath.Join(dir, config.ConfigFile)) {
			continue
		}
		fl, err := readFollower(e.Name(), dir)
		if err != nil {
			return err
		}
		out = append(out, fl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if g.json() {
		for _, fl := range out {
			if err := g.printJSON(fl); err != nil {
				return err
			}
		}
		return nil
	}
	if len(out) == 0 {
		g.printf("no followers in %s: set one up with 'pincluster follow NAME init TEMPLATE --bootstrap MADDR'\n", root)
		return nil
	}
	rows := [][]string{{"NAME", "PEER ID", "RUNNING", "DIR"}}
	for _, fl := range out {
		rows = append(rows, []string{fl.Name, fl.ID, fmt.Sprint(fl.Running), fl.Dir})
	}
	printTable(g, rows)
	return nil
}

// printTable writes rows as aligned columns.
func printTable(g *Globals, rows [][]string) {
	tw := tabwriter.NewWriter(g.io.Out, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
