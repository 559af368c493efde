package peer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
)

// ID describes this peer.
func (p *Peer) ID(ctx context.Context) api.ID {
	id := api.ID{
		ID:                 p.ident.ID,
		Version:            Version,
		RPCProtocolVersion: "/pincluster/rpc/0.1.0",
		Peername:           p.cfg.Cluster.Peername,
		ClusterPeers:       []libp2ppeer.ID{p.ident.ID},
	}
	for _, a := range p.host.Addrs() {
		id.Addresses = append(id.Addresses, a.String()+"/p2p/"+p.ident.ID.String())
	}
	ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if ipfsID, err := p.ipfs.ID(ictx); err != nil {
		id.IPFS.Error = err.Error()
	} else {
		id.IPFS = ipfsID
	}
	return id
}

// Version is pincluster's version.
func (p *Peer) Version() api.Version { return api.Version{Version: Version} }

// Peers streams every cluster peer.
func (p *Peer) Peers(ctx context.Context, fn func(api.ID) error) error {
	return fn(p.ID(ctx))
}

// PeerRemove removes a peer from the cluster.
func (p *Peer) PeerRemove(_ context.Context, id libp2ppeer.ID) error {
	if id == p.ident.ID {
		return fmt.Errorf("%w: %s is the only peer of this cluster: a single-peer cluster cannot remove itself", api.ErrInvalid, id)
	}
	return fmt.Errorf("%w: peer %s is not in the cluster", api.ErrNotFound, id)
}

// IPFSGC runs a garbage collection on the IPFS node.
func (p *Peer) IPFSGC(ctx context.Context, _ bool) (api.GlobalRepoGC, error) {
	res := api.IPFSRepoGC{Peer: p.ident.ID, Peername: p.cfg.Cluster.Peername, Keys: []string{}}
	removed, err := p.ipfs.GC(ctx)
	if err != nil {
		res.Error = err.Error()
	}
	for _, c := range removed {
		res.Keys = append(res.Keys, c.String())
	}
	return api.GlobalRepoGC{PeerMap: map[string]api.IPFSRepoGC{p.ident.ID.String(): res}}, nil
}

// metricTTL is how long a locally computed metric stays valid.
const metricTTL = 30 * time.Second

// localMetrics computes this peer's metrics on demand (the informer actors that publish them
// over pubsub come with the cluster).
func (p *Peer) localMetrics(ctx context.Context) []api.Metric {
	now := time.Now()
	mk := func(name, value string) api.Metric {
		return api.Metric{Name: name, Peer: p.ident.ID, Value: value, Valid: true, Expire: now.Add(metricTTL).UnixNano(), ReceivedAt: now.UnixNano()}
	}
	out := []api.Metric{mk("ping", "")}
	if st, err := p.ipfs.RepoStat(ctx); err == nil {
		m := mk("freespace", strconv.FormatUint(st.FreeSpace, 10))
		m.Weight = int64(st.FreeSpace)
		out = append(out, m)
	}
	out = append(out, mk("pinqueue", strconv.Itoa(p.tracker.QueueLen())))
	if n, err := p.store.CountPins(); err == nil {
		out = append(out, mk("numpin", strconv.Itoa(n)))
	}
	out = append(out, mk("tag:group", "default"))
	return out
}

// Metrics returns the latest metric of each peer named name.
func (p *Peer) Metrics(ctx context.Context, name string) ([]api.Metric, error) {
	var out []api.Metric
	for _, m := range p.localMetrics(ctx) {
		if m.Name == name {
			out = append(out, m)
		}
	}
	if out == nil {
		return nil, fmt.Errorf("%w: no metric named %q (see GET /monitor/metrics)", api.ErrNotFound, name)
	}
	return out, nil
}

// MetricNames lists the metrics peers publish.
func (p *Peer) MetricNames(ctx context.Context) ([]string, error) {
	var names []string
	for _, m := range p.localMetrics(ctx) {
		names = append(names, m.Name)
	}
	return names, nil
}

// Alerts lists metrics that expired. A single peer has none.
func (p *Peer) Alerts(context.Context) ([]api.Alert, error) { return []api.Alert{}, nil }

// ConnectGraph describes who sees whom.
func (p *Peer) ConnectGraph(ctx context.Context) (api.ConnectGraph, error) {
	self := p.ident.ID.String()
	ipfsID := ""
	if id, err := p.ipfs.ID(ctx); err == nil {
		ipfsID = id.ID
	}
	return api.ConnectGraph{
		ClusterID:     p.ident.ID,
		IDtoPeername:  map[string]string{self: p.cfg.Cluster.Peername},
		ClusterLinks:  map[string][]libp2ppeer.ID{self: {}},
		ClustertoIPFS: map[string]string{self: ipfsID},
		IPFSLinks:     map[string][]string{ipfsID: {}},
	}, nil
}
