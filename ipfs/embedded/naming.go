package embedded

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/boxo/ipns"
	"github.com/ipfs/boxo/namesys"
	"github.com/ipfs/boxo/path"
	offlinert "github.com/ipfs/boxo/routing/offline"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p-kad-dht/dual"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/host"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// nameCacheSize is how many resolved names namesys keeps (each for its record's TTL), so a
// burst of pins of one /ipns/ name asks the network once.
const nameCacheSize = 1024

// naming resolves /ipns/ names: IPNS records through a Kademlia DHT on the node's libp2p host
// and DNSLink names through DNS (boxo's namesys does both and follows chains of names).
//
// Why a DHT, and why dual: the host is the cluster's, on its private network (the cluster
// secret), so this DHT only ever holds the cluster's peers and any Kubo given the same swarm
// key; it is how Kubo itself finds IPNS records (`ipfs name publish` puts the record to the
// closest DHT servers, `name resolve` gets it back). The dual DHT is Kubo's: a WAN table for
// peers on public addresses and a LAN table (/ipfs/lan/kad/1.0.0) for private and loopback
// ones, so records published by a Kubo on the same LAN or machine are found. Both run in
// server mode so a Kubo can store its records here. Records received are kept in memory (the
// publisher republishes them, Kubo every few hours; a restarted peer asks the network again).
type naming struct {
	dht *dual.DHT // nil when the node is offline
	ns  namesys.NameSystem
}

// newNaming starts the DHT on h, or, with no host, an offline name system that still resolves
// DNSLink names (records can only be found locally, and none are stored).
func newNaming(h host.Host) (*naming, error) {
	store := dssync.MutexWrap(ds.NewMapDatastore())
	if h == nil {
		v := record.NamespacedValidator{"pk": record.PublicKeyValidator{}, "ipns": ipns.Validator{}}
		ns, err := namesys.NewNameSystem(offlinert.NewOfflineRouter(store, v), namesys.WithCache(nameCacheSize))
		if err != nil {
			return nil, fmt.Errorf("embedded ipfs: name system: %w", err)
		}
		return &naming{ns: ns}, nil
	}
	d, err := dual.New(h, dual.DHTOption(dht.Mode(dht.ModeServer), dht.Datastore(store)))
	if err != nil {
		return nil, fmt.Errorf("embedded ipfs: start the DHT for IPNS: %w", err)
	}
	ns, err := namesys.NewNameSystem(d, namesys.WithCache(nameCacheSize))
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("embedded ipfs: name system: %w", err)
	}
	return &naming{dht: d, ns: ns}, nil
}

// close stops the DHT.
func (m *naming) close() error {
	if m == nil || m.dht == nil {
		return nil
	}
	return m.dht.Close()
}

// resolve follows the /ipns/ path p (and any names it leads to) to an /ipfs/ path, within
// timeout. A name with no record, a DNS name with no DNSLink, or no answer within the timeout
// is api.ErrNotFound: the name does not resolve from here, which is what the caller must be
// told (a 404), not that a server timed out.
func (m *naming) resolve(ctx context.Context, p path.Path, timeout time.Duration) (path.ImmutablePath, error) {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := m.ns.Resolve(rctx, p, namesys.ResolveWithDhtTimeout(timeout))
	if err != nil {
		if ctx.Err() != nil { // the caller gave up or the node closed: not the name's fault
			return path.ImmutablePath{}, fmt.Errorf("resolve %s: %w", p, ctx.Err())
		}
		if errors.Is(err, context.DeadlineExceeded) || rctx.Err() != nil {
			return path.ImmutablePath{}, fmt.Errorf("resolve %s: %w: the name did not resolve within %s (no IPNS record or DNSLink found)", p, api.ErrNotFound, timeout)
		}
		return path.ImmutablePath{}, fmt.Errorf("resolve %s: %w: %v", p, api.ErrNotFound, err)
	}
	ip, err := path.NewImmutablePath(res.Path)
	if err != nil {
		return path.ImmutablePath{}, fmt.Errorf("resolve %s: %w: it points to %s, not an /ipfs/ path: %v", p, api.ErrNotFound, res.Path, err)
	}
	return ip, nil
}

// resolveTimeout is the bound of one name resolution.
func (n *Node) resolveTimeout() time.Duration {
	if n.cfg.ResolveTimeout > 0 {
		return n.cfg.ResolveTimeout
	}
	return ipfs.DefaultResolveTimeout
}
