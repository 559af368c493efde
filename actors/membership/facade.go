package membership

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/actors/ask"
	"github.com/pincluster/pincluster/actors/root"
)

// Membership is the typed facade of the membership actor. Its methods never block (except
// Stop and ConnectedCount) and are safe for concurrent use.
type Membership struct {
	system  *actor.ActorSystem
	pid     *actor.PID
	cancel  context.CancelFunc
	removed *removedSet
}

// Spawn starts the membership actor under parent, named "membership".
func Spawn(parent root.Parent, self peer.ID, net Network, cfg Config, log *slog.Logger) (*Membership, error) {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg = cfg.withDefaults()
	removed := &removedSet{}
	for _, id := range cfg.Removed {
		removed.add(id)
	}
	props := actor.PropsFromProducer(func() actor.Actor {
		a := &membershipActor{self: self, net: net, cfg: cfg, log: log, ctx: ctx,
			known: map[peer.ID]*entry{}, removed: map[peer.ID]bool{}}
		for _, id := range removed.list() {
			a.removed[id] = true
		}
		return a
	})
	pid, err := parent.SpawnNamed(props, "membership")
	if err != nil {
		cancel()
		return nil, fmt.Errorf("membership: spawn: %w", err)
	}
	return &Membership{system: parent.ActorSystem(), pid: pid, cancel: cancel, removed: removed}, nil
}

// removedSet outlives actor instances: Forget records there too, so a restarted instance
// starts with every removal.
type removedSet struct {
	mu  sync.Mutex
	ids []peer.ID
}

func (r *removedSet) add(id peer.ID) {
	r.mu.Lock()
	if !slices.Contains(r.ids, id) { // a removal may be told twice (roster.AttachMembership)
		r.ids = append(r.ids, id)
	}
	r.mu.Unlock()
}

func (r *removedSet) list() []peer.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]peer.ID(nil), r.ids...)
}

// Bootstrap adds addresses to dial now and whenever no member is connected.
func (m *Membership) Bootstrap(infos []peer.AddrInfo) {
	m.system.Root.Send(m.pid, &bootstrapAddrs{infos: infos})
}

// BootstrapAddrs parses the --bootstrap multiaddresses (each with /p2p/<peer id>) and hands
// them to Bootstrap; bad ones are logged and skipped, and self is left out.
func (m *Membership) BootstrapAddrs(self peer.ID, addrs []string, log *slog.Logger) {
	var infos []peer.AddrInfo
	for _, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		ma, err := multiaddr.NewMultiaddr(a)
		if err != nil {
			log.Warn("bootstrap: bad multiaddress", "addr", a, "err", err)
			continue
		}
		info, err := peer.AddrInfoFromP2pAddr(ma)
		if err != nil {
			log.Warn("bootstrap: multiaddress lacks /p2p/<peer id>", "addr", a)
			continue
		}
		if info.ID != self {
			infos = append(infos, *info)
		}
	}
	if len(infos) > 0 {
		m.Bootstrap(infos)
	}
}

// Connected reports a new connection to id.
func (m *Membership) Connected(id peer.ID) { m.system.Root.Send(m.pid, &peerConnected{id: id}) }

// Disconnected reports a closed connection to id (it may still have others).
func (m *Membership) Disconnected(id peer.ID) {
	m.system.Root.Send(m.pid, &peerDisconnected{id: id})
}

// Learned reports that a member pinged, with the addresses it announced (none: it is alive,
// which refreshes a member already known).
func (m *Membership) Learned(info peer.AddrInfo) { m.system.Root.Send(m.pid, &peerLearned{info: info}) }

// Knows reports whether id is a member this peer keeps dialling: one it was connected to or
// learned addresses of, down or not (peers rm takes such a peer even when it no longer counts
// among the members: without it, a peer that died for good would be dialled forever).
func (m *Membership) Knows(ctx context.Context, id peer.ID) (bool, error) {
	return ask.Call[bool](ctx, m.system, m.pid, &knowsRequest{id: id}, 5*time.Second, "membership", actor.ErrDeadLetter)
}

// Forget drops a removed member for good (this run).
func (m *Membership) Forget(id peer.ID) {
	m.removed.add(id)
	m.system.Root.Send(m.pid, &peerForgotten{id: id})
}

// Stop stops the actor after saving the peerstore file; dials in flight are cancelled.
func (m *Membership) Stop() {
	m.cancel()
	_ = m.system.Root.StopFuture(m.pid).Wait()
}
