package cli

import (
	"fmt"
	"strings"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// PinFlags are the pin options shared by `add` and `pin add`.
type PinFlags struct {
	ReplicationMin int      `name:"replication-min" aliases:"rmin" placeholder:"N" help:"Minimum number of peers that must pin (-1 = every peer; default: cluster setting)."`
	ReplicationMax int      `name:"replication-max" aliases:"rmax" placeholder:"N" help:"Maximum number of peers that pin (-1 = every peer; default: cluster setting)."`
	Allocations    []string `name:"allocations" aliases:"allocs" sep:"," placeholder:"PEERID,..." help:"Peers to pin on first (comma separated peer IDs)."`
	Name           string   `name:"name" short:"n" help:"Name of the pin."`
	ExpireIn       string   `name:"expire-in" placeholder:"DURATION" help:"Unpin after this duration (e.g. 24h, 90m)."`
	Metadata       []string `name:"metadata" sep:"none" placeholder:"KEY=VALUE" help:"Metadata for the pin (repeatable)."`
}

// options validates the flags and builds the pin options. replication, when not 0, sets both
// factors (the -r/--replication flag of pin add).
func (f PinFlags) options(replication int, now time.Time) (api.PinOptions, error) {
	o := api.PinOptions{Name: f.Name, ReplicationFactorMin: f.ReplicationMin, ReplicationFactorMax: f.ReplicationMax}
	if replication != 0 {
		if f.ReplicationMin != 0 || f.ReplicationMax != 0 {
			return o, fmt.Errorf("--replication sets both factors: do not combine it with --replication-min/--replication-max")
		}
		o.ReplicationFactorMin, o.ReplicationFactorMax = replication, replication
	}
	if err := checkReplication(o.ReplicationFactorMin, o.ReplicationFactorMax); err != nil {
		return o, err
	}
	allocs, err := parsePeers(f.Allocations)
	if err != nil {
		return o, err
	}
	o.UserAllocations = allocs
	if f.ExpireIn != "" {
		d, err := parseExpireIn(f.ExpireIn)
		if err != nil {
			return o, err
		}
		o.ExpireAt = now.Add(d)
	}
	md, err := parseMetadata(f.Metadata)
	if err != nil {
		return o, err
	}
	o.Metadata = md
	return o, nil
}

// flagNames name the replication factors by their flags in CLI errors.
var flagNames = api.FactorNames{Min: "--replication-min", Max: "--replication-max"}

// checkReplication is api.CheckReplication, the cluster's one rule, naming the flags.
func checkReplication(mn, mx int) error { return api.CheckReplication(mn, mx, flagNames) }

func parseExpireIn(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--expire-in %q is not a duration: use e.g. 24h, 90m or 3600s", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("--expire-in %q must be positive", s)
	}
	return d, nil
}

func parseMetadata(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	md := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--metadata %q must be KEY=VALUE", kv)
		}
		md[k] = v
	}
	return md, nil
}

func parsePeers(ss []string) ([]peer.ID, error) {
	var out []peer.ID
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		id, err := peer.Decode(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid peer ID: %v", s, err)
		}
		out = append(out, id)
	}
	return out, nil
}

// parseCid reads a CID argument with a message that names it.
func parseCid(s string) (api.Cid, error) {
	c, err := gocid.Decode(strings.TrimSpace(s))
	if err != nil {
		return api.CidUndef, fmt.Errorf("%q is not a valid CID: %v", s, err)
	}
	return api.NewCid(c), nil
}

// target is a pin argument: a CID or an /ipfs/, /ipns/ or /ipld/ path.
type target struct {
	cid  api.Cid
	path string // set for paths
}

// parseTarget reads "<cid>" or "/ipfs/<cid>/sub/path" (also /ipns/name, /ipld/<cid>).
func parseTarget(s string) (target, error) {
	if !strings.Contains(s, "/") {
		c, err := parseCid(s)
		return target{cid: c}, err
	}
	trimmed := strings.TrimPrefix(s, "/")
	ns, rest, _ := strings.Cut(trimmed, "/")
	first, _, _ := strings.Cut(rest, "/")
	switch ns {
	case "ipfs", "ipld":
		if _, err := parseCid(first); err != nil {
			return target{}, fmt.Errorf("bad path %q: %w", s, err)
		}
		if strings.Trim(strings.TrimPrefix(rest, first), "/") == "" {
			c, _ := parseCid(first)
			return target{cid: c}, nil
		}
	case "ipns":
		if first == "" {
			return target{}, fmt.Errorf("bad path %q: use /ipns/<name>[/sub/path]", s)
		}
	default:
		if _, err := parseCid(ns); err != nil {
			return target{}, fmt.Errorf("%q is neither a CID nor an /ipfs/ or /ipns/ path: %v", s, err)
		}
		return parseTarget("/ipfs/" + trimmed)
	}
	return target{path: "/" + ns + "/" + rest}, nil
}

func (t target) String() string {
	if t.path != "" {
		return t.path
	}
	return t.cid.String()
}

var errEmptyPeer = fmt.Errorf("give the ID of the peer to remove (see pincluster peers ls)")
