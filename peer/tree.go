package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/actors/healer"
	"github.com/pincluster/pincluster/actors/informer"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/persistence"
)

// spawnHealth spawns the monitor, the allocator, the informer and the healer under the root,
// and wires their events: the informer sends this peer's metrics to the monitor and the
// allocator, the monitor sends PeerDown to the healer.
func (p *Peer) spawnHealth() error {
	var err error
	cfg, log := p.cfg, p.log
	if p.monitor, err = monitor.Spawn(p.root, p.ident.ID, cfg.Monitor, log); err != nil {
		return err
	}
	if p.allocator, err = allocator.Spawn(p.root, cfg.Allocator, allocator.Deps{Metrics: p.topics, Removed: p.store, Monitor: p.monitor.PID(),
		Warmup: cfg.Cluster.MonitorPingInterval.D()}, log); err != nil {
		return err
	}
	p.monitor.SeedFrom(p.allocator.PID()) // each keeps the other's table across a restart
	ping := cfg.Cluster.MonitorPingInterval.D()
	if p.informer, err = informer.Spawn(p.root, informer.Deps{Self: p.ident.ID, Config: cfg.Informer, Interval: ping,
		Source: informerSource{p}, Topic: p.topics, Subscribers: []*actor.PID{p.monitor.PID(), p.allocator.PID()}}, log); err != nil {
		return err
	}
	if p.healer, err = healer.Spawn(p.root, healer.Deps{Self: p.ident.ID, DisableRepinning: cfg.Cluster.DisableRepinning,
		SyncInterval: cfg.Cluster.StateSyncInterval.D(), RecoverInterval: cfg.Cluster.PinRecoverInterval.D(),
		Started: p.started, Settle: 3 * 2 * ping,
		Pins: healerPins{p}, Pinset: p.pinset, Allocator: p.allocator, Live: p.monitor, Tracker: p.tracker, Node: p.ipfs}, log); err != nil {
		return err
	}
	p.monitor.Subscribe(p.healer.PID())
	return nil
}

// healerPins is the store as the healer reads it (healer.Pins).
type healerPins struct{ p *Peer }

func (h healerPins) IteratePins(ctx context.Context, fn func(api.Pin) error) error {
	return h.p.store.IteratePins(ctx, fn)
}

func (h healerPins) Placement(c api.Cid) (found, here bool, err error) {
	rec, found, err := h.p.store.Get(c)
	if err != nil || !found {
		return found, false, err
	}
	return true, !rec.Deleted && h.p.recordAllocatedHere(rec), nil
}

// recordAllocatedHere reports whether a live record's pin is allocated to this peer.
func (p *Peer) recordAllocatedHere(rec persistence.Record) bool {
	var pin api.Pin
	if err := json.Unmarshal(rec.Op.PinJSON, &pin); err != nil {
		return true // undecodable: leave the IPFS pin alone
	}
	return pin.AllocatedTo(p.ident.ID)
}

// crash makes the actor named name (a child of the root: pinset, tracker, allocator, monitor,
// informer, healer, ...) panic, as a bug would (supervision tests through the probe; needs
// Options.FaultHooks).
func (p *Peer) crash(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.root.Crash(ctx, name)
}

// restarts is how many times the root restarted the actor named name.
func (p *Peer) restarts(name string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := p.root.Children(ctx)
	if err != nil {
		return 0, err
	}
	for _, c := range cs {
		if c.Name == name {
			return c.Restarts, nil
		}
	}
	return 0, fmt.Errorf("%w: no actor named %q under the root", api.ErrNotFound, name)
}

// children lists the names of the root's children, in order of spawn.
func (p *Peer) children() ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := p.root.Children(ctx)
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return names, err
}

var _ root.Parent = (*root.Root)(nil)
