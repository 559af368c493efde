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
// model. An /ipns/ path is first turned into an /ipfs/ one by the name system (naming.go: the
// DHT for IPNS records, DNS for DNSLink), within the resolve timeout.
func (n *Node) Resolve(ctx context.Context, p string) (api.Cid, error) {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return api.CidUndef, err
	}
	defer done()
	pp, err := parsePath(p)
	if err != nil {
		return api.CidUndef, err
	}
	var ip path.ImmutablePath
	if pp.Mutable() {
		ip, err = n.names.resolve(ctx, pp, n.resolveTimeout())
	} else {
		ip, err = path.NewImmutablePath(pp)
	}
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

// parsePath parses p as an /ipfs/, /ipld/ or /ipns/ path (a bare CID is taken as /ipfs/<cid>).
func parsePath(p string) (path.Path, error) {
	full := p
	if !strings.HasPrefix(p, "/") {
		full = "/ipfs/" + p
	}
	pp, err := path.NewPath(full)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not an IPFS path (use /ipfs/<cid>[/sub/path], /ipld/<cid>[/field] or /ipns/<name>[/sub/path]): %v", api.ErrInvalid, p, err)
	}
	return pp, nil
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
