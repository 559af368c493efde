package kubo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/ipfs/boxo/path"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/diskspace"
	"github.com/pincluster/pincluster/ipfs"
)

// RepoStat runs repo/stat. FreeSpace is StorageMax-RepoSize, or the free space of the repo's
// filesystem when that is smaller (readable only when Kubo runs on this machine).
func (n *Node) RepoStat(ctx context.Context) (ipfs.RepoStat, error) {
	ctx, done, err := n.begin(ctx, true)
	if err != nil {
		return ipfs.RepoStat{}, err
	}
	defer done()
	var out repoStatOut
	err = n.call(ctx, request{cmd: "repo/stat"}, func(r io.Reader) (err error) {
		out, err = decodeRepoStat(r)
		return err
	})
	if err != nil {
		return ipfs.RepoStat{}, err
	}
	return toRepoStat(out, fsFree), nil
}

// toRepoStat computes FreeSpace from Kubo's numbers and the filesystem's free space (free
// returns ok=false when the repo path is not readable here).
func toRepoStat(out repoStatOut, free func(string) (uint64, bool)) ipfs.RepoStat {
	st := ipfs.RepoStat{RepoSize: out.RepoSize, StorageMax: out.StorageMax, NumObjects: out.NumObjects}
	if out.StorageMax > out.RepoSize {
		st.FreeSpace = out.StorageMax - out.RepoSize
	}
	if fs, ok := free(out.RepoPath); ok && (fs < st.FreeSpace || out.StorageMax == 0) {
		st.FreeSpace = fs
	}
	return st
}

// fsFree is the free space of the filesystem holding dir.
func fsFree(dir string) (uint64, bool) {
	if dir == "" {
		return 0, false
	}
	free, err := diskspace.Free(dir)
	return free, err == nil
}

// GC runs repo/gc and returns the removed CIDs.
func (n *Node) GC(ctx context.Context) ([]api.Cid, error) {
	ctx, done, err := n.begin(ctx, false)
	if err != nil {
		return nil, err
	}
	defer done()
	var removed []api.Cid
	err = n.call(ctx, request{cmd: "repo/gc", query: url.Values{"stream-errors": {"true"}}}, func(r io.Reader) (err error) {
		removed, err = decodeGC(r)
		return err
	})
	if err != nil {
		return removed, fmt.Errorf("repo gc: %w", err)
	}
	return removed, nil
}

// Resolve runs resolve?recursive=true: /ipfs/ and /ipld/ paths through the DAG (Kubo fetches
// missing blocks when online), /ipns/ names through Kubo's name system (its routing for IPNS
// records, DNS for DNSLink). A bare CID is taken as /ipfs/<cid>.
//
// A name lookup is bounded by Config.ResolveTimeout, passed to Kubo as dht-timeout, and the
// whole call by that plus resolveSlack (when shorter than RequestTimeout): a name that does not
// resolve in time is api.ErrNotFound, as Kubo's "could not resolve name" is, because to the
// caller both mean the same thing: nothing to pin under that name from here.
func (n *Node) Resolve(ctx context.Context, p string) (api.Cid, error) {
	ctx, done, err := n.begin(ctx, true)
	if err != nil {
		return api.CidUndef, err
	}
	defer done()
	full := p
	if !strings.HasPrefix(p, "/") {
		full = "/ipfs/" + p
	}
	pp, err := path.NewPath(full)
	if err != nil {
		return api.CidUndef, fmt.Errorf("%w: %q is not an IPFS path (use /ipfs/<cid>[/sub/path], /ipld/<cid>[/field] or /ipns/<name>[/sub/path]): %v", api.ErrInvalid, p, err)
	}
	if ip, err := path.NewImmutablePath(pp); err == nil && len(ip.Segments()) == 2 {
		return api.NewCid(ip.RootCid()), nil
	}
	// cid-base base58btc: without it Kubo prints the answer in the base of the path's root and,
	// when that root is CIDv1, upgrades a CIDv0 answer to v1 (another pin key for the same
	// content); the embedded node answers the CID as linked, and so must this.
	q := url.Values{"arg": {pp.String()}, "recursive": {"true"}, "cid-base": {"base58btc"}}
	if pp.Mutable() {
		q.Set("dht-timeout", n.cfg.ResolveTimeout.String())
		if bound := n.cfg.ResolveTimeout + resolveSlack; bound < n.cfg.RequestTimeout {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, bound)
			defer cancel()
		}
	}
	var c api.Cid
	err = n.call(ctx, request{cmd: "resolve", query: q}, func(r io.Reader) (err error) {
		c, err = decodeResolve(r)
		return err
	})
	if err != nil {
		if pp.Mutable() && errors.Is(err, api.ErrTimeout) {
			return api.CidUndef, fmt.Errorf("resolve %s: %w: the name did not resolve within %s (no IPNS record or DNSLink found): %v", p, api.ErrNotFound, n.cfg.ResolveTimeout, err)
		}
		return api.CidUndef, fmt.Errorf("resolve %s: %w", p, err)
	}
	return c, nil
}

// resolveSlack is the time a Resolve of an /ipns/ path allows Kubo past the name lookup's
// dht-timeout: to answer, and to walk the rest of the path.
const resolveSlack = 10 * time.Second
