package statusdigest

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/root"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// ActorName is the actor's name under the root; other peers address their pulls to it.
const ActorName = "statusdigest"

// Digests is the actor's facade.
type Digests struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

// Spawn starts the actor under parent. Zero fields of deps.Config take Default's.
func Spawn(parent root.Parent, deps Deps, log *slog.Logger) (*Digests, error) {
	if deps.Self == "" || deps.Store == nil || deps.Topic == nil || deps.Remote == nil || deps.Members == nil || deps.Local == nil {
		return nil, fmt.Errorf("statusdigest: Self, Store, Topic, Remote, Members and Local are required")
	}
	def := Default()
	c := &deps.Config
	if c.FlushEvery <= 0 {
		c.FlushEvery = def.FlushEvery
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = def.Heartbeat
	}
	if c.Resync <= 0 {
		c.Resync = def.Resync
	}
	if c.Rate <= 0 {
		c.Rate = def.Rate
	}
	if c.Burst <= 0 {
		c.Burst = def.Burst
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "statusdigest")
	props := actor.PropsFromProducer(func() actor.Actor { return newActor(deps, log) })
	pid, err := parent.SpawnNamed(props, ActorName)
	if err != nil {
		return nil, fmt.Errorf("statusdigest: spawn: %w", err)
	}
	return &Digests{system: parent.ActorSystem(), pid: pid}, nil
}

// PID is the actor's PID: the tracker sends it messages.TrackerStatusChanged.
func (d *Digests) PID() *actor.PID { return d.pid }

// Received hands the actor a digest a trusted peer published (the gossip reader decoded and
// checked it). It never blocks.
func (d *Digests) Received(from peer.ID, dg sd.Digest) {
	d.system.Root.Send(d.pid, received{from: from, d: dg})
}

// Stop stops the actor; its workers end with their contexts.
func (d *Digests) Stop() { _ = d.system.Root.StopFuture(d.pid).Wait() }
