package embedded

import (
	"context"
	"errors"
	"fmt"
	"strings"

	bsfetcher "github.com/ipfs/boxo/fetcher/impl/blockservice"
	"github.com/ipfs/boxo/path"
	"github.com/ipfs/boxo/path/resolver"
	format "github.com/ipfs/go-ipld-format"
	"github.com/ipfs/go-unixfsnode"
	dagpb "github.com/ipld/go-codec-dagpb"

	"github.com/pincluster/pincluster/api"
)

// Resolve walks an /ipfs/ or /ipld/ path with boxo's path resolver over the node's block
// service: local blocks only when offline, bitswap when online. /ipfs/ paths see UnixFS
// directories (HAMT-sharded ones included) by entry name; /ipld/ paths see the raw IPLD data
// model. IPNS needs content routing, which the embedded node does not have.
func (n *Node) Resolve(ctx context.Context, p string) (api.Cid, error) {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return api.CidUndef, err
	}
	defer done()
	ip, err := parseImmutablePath(p)
	if err != nil {
		return api.CidUndef, err
	}
	if len(ip.Segments()) == 2 { // /ipfs/<cid>: nothing to walk
		return api.NewCid(ip.RootCid()), nil
	}
	cfg := bsfetcher.NewFetcherConfig(n.bserv)
	cfg.PrototypeChooser = dagpb.AddSupportToChooser(bsfetcher.DefaultPrototypeChooser)
	factory := cfg.WithReifier(unixfsnode.Reify)
	if ip.Namespace() == path.IPLDNamespace {
		factory = cfg
	}
	c, _, err := resolver.NewBasicResolver(factory).ResolveToLastNode(ctx, ip)
	if err != nil {
		return api.CidUndef, resolveErr(p, err, n.bswap == nil)
	}
	return api.NewCid(c), nil
}

// parseImmutablePath parses p as an /ipfs/ or /ipld/ path (a bare CID is taken as /ipfs/<cid>).
func parseImmutablePath(p string) (path.ImmutablePath, error) {
	full := p
	if !strings.HasPrefix(p, "/") {
		full = "/ipfs/" + p
	}
	pp, err := path.NewPath(full)
	if err != nil {
		return path.ImmutablePath{}, fmt.Errorf("%w: %q is not an IPFS path (use /ipfs/<cid>[/sub/path]): %v", api.ErrInvalid, p, err)
	}
	if pp.Mutable() {
		return path.ImmutablePath{}, fmt.Errorf("%w: cannot resolve %s: the embedded IPFS node has no IPNS resolution; pin the /ipfs/ path it points to", api.ErrInvalid, p)
	}
	return path.NewImmutablePath(pp)
}

// resolveErr classifies a resolver failure: missing links and blocks are api.ErrNotFound.
func resolveErr(p string, err error, offline bool) error {
	var noLink *resolver.ErrNoLink
	switch {
	case errors.As(err, &noLink):
		return fmt.Errorf("resolve %s: %w: %v", p, api.ErrNotFound, err)
	case format.IsNotFound(err):
		hint := ""
		if offline {
			hint = " (offline node: only local blocks can be resolved)"
		}
		return fmt.Errorf("resolve %s: %w: %v%s", p, api.ErrNotFound, err, hint)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("resolve %s: %w", p, err)
	default:
		return fmt.Errorf("resolve %s: %w: %v", p, api.ErrNotFound, err)
	}
}
