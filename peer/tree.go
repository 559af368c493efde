package peer

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/actors/healer"
	"github.com/pincluster/pincluster/actors/informer"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/actors/root"
)

// spawnHealth spawns the monitor, the allocator, the healer and the informer under the root,
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
	if p.healer, err = healer.Spawn(p.root, healer.Deps{Self: p.ident.ID, DisableRepinning: cfg.Cluster.DisableRepinning || cfg.Cluster.FollowerMode,
		SyncInterval: cfg.Cluster.StateSyncInterval.D(), RecoverInterval: cfg.Cluster.PinRecoverInterval.D(),
		Started: p.started, Settle: 3 * 2 * ping,
		Pins: healer.StorePins{Store: p.store, Self: p.ident.ID}, Pinset: p.healerPinset(), Allocator: p.allocator, Voters: p.repinVoters, Removed: p.roster.List, Live: p.monitor, Tracker: p.tracker, Node: p.ipfs, Passes: p.passes}, log); err != nil {
		return err
	}
	// The informer reads the healer's count of the node's pins (numpin): spawned after it.
	if p.informer, err = informer.Spawn(p.root, informer.Deps{Self: p.ident.ID, Config: cfg.Informer, Interval: ping,
		Source: informerSource{p}, Topic: p.topics, Subscribers: []*actor.PID{p.monitor.PID(), p.allocator.PID()},
		Follower: cfg.Cluster.FollowerMode}, log); err != nil {
		return err
	}
	p.monitor.Subscribe(p.healer.PID())
	p.tracker.NotifyRestarts(p.healer.PID())
	return nil
}

var _ root.Parent = (*root.Root)(nil)
