package cluster

import (
	"context"
	"fmt"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// HealthService reports the metrics and alerts of the cluster and runs IPFS garbage collection.
type HealthService struct {
	d   Deps
	fan *fanout
}

// Metrics returns the latest valid metric named name of each member (removed peers left out);
// api.ErrNotFound when none is known.
func (s *HealthService) Metrics(ctx context.Context, name string) ([]api.Metric, error) {
	ms, err := s.d.Metrics.Latest(ctx, name)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if !s.d.Members.IsRemoved(m.Peer) {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		names, _ := s.d.Metrics.Names(ctx)
		return nil, fmt.Errorf("%w: no valid metric named %q (known: %s)", api.ErrNotFound, name, strings.Join(names, ", "))
	}
	return out, nil
}

// MetricNames lists the metrics peers publish.
func (s *HealthService) MetricNames(ctx context.Context) ([]string, error) {
	return s.d.Metrics.Names(ctx)
}

// Alerts lists metrics that expired recently.
func (s *HealthService) Alerts(ctx context.Context) ([]api.Alert, error) {
	as, err := s.d.Metrics.Alerts(ctx)
	if as == nil {
		as = []api.Alert{}
	}
	return as, err
}

// IPFSGC runs a garbage collection on this peer's IPFS node and, unless local, on every
// member's at the same time, so the slowest node sets the duration rather than their sum. A
// node that fails or does not answer has the reason in its entry.
func (s *HealthService) IPFSGC(ctx context.Context, local bool) (api.GlobalRepoGC, error) {
	out := api.GlobalRepoGC{PeerMap: map[string]api.IPFSRepoGC{}}
	remote := make(chan struct{})
	var asked, refused int
	go func() {
		defer close(remote)
		if local {
			return
		}
		others := s.fan.others(ctx, nil)
		asked = len(others)
		refused = ask(ctx, s.fan, others, &messages.GCRequest{}, 0, func(id peer.ID, r *messages.GCResponse, err string) {
			if err == "" && r == nil {
				err = "empty reply"
			}
			if err != "" {
				out.PeerMap[id.String()] = api.IPFSRepoGC{Peer: id, Peername: s.d.Members.PeerName(id), Error: err}
				return
			}
			out.PeerMap[id.String()] = r.Result
		})
	}()
	res := s.GCLocal(ctx)
	<-remote
	out.PeerMap[res.Peer.String()] = res
	// This peer's own GC ran (its node, its operator's call); the others refused it all.
	if err := refusedByAll(asked, refused, s.d.Members.Self(), "ipfs gc"); err != nil {
		return out, err
	}
	return out, nil
}

// GCLocal runs a garbage collection on this peer's IPFS node (what a member's GCRequest asks).
func (s *HealthService) GCLocal(ctx context.Context) api.IPFSRepoGC {
	self := s.d.Members.Self()
	res := api.IPFSRepoGC{Peer: self, Peername: s.d.Members.PeerName(self), Keys: []string{}}
	removed, err := s.d.IPFS.GC(ctx)
	if err != nil {
		res.Error = err.Error()
	}
	for _, c := range removed {
		res.Keys = append(res.Keys, c.String())
	}
	return res
}
