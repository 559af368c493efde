package membership

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/internal/atomicfile"
)

// Network is what the actor needs of the libp2p host. Connect blocks up to its context;
// the others must be fast and safe for concurrent use.
type Network interface {
	Connect(ctx context.Context, pi peer.AddrInfo) error
	IsConnected(id peer.ID) bool
	// Protect keeps (or stops keeping) id's connections out of the connection manager's
	// trimming.
	Protect(id peer.ID, keep bool)
}

// Config tunes the actor; zero values take the defaults.
type Config struct {
	// PeerstorePath is the file the members' addresses are saved to ("" = not saved).
	PeerstorePath string
	// Removed lists peers removed from the cluster (durable elsewhere): never dialled, saved or
	// re-added, also by a restarted instance.
	Removed      []peer.ID
	TickInterval time.Duration // default 250ms
	MinBackoff   time.Duration // default 250ms
	MaxBackoff   time.Duration // default 5s
	DialTimeout  time.Duration // default 10s
	// MaxDials bounds the dials in flight (default 16). Without it a peer joining N members
	// starts N handshakes at once; on a loaded machine (100 peers forming on 2 cores) they all
	// outlast DialTimeout, are thrown away and start again: formation that never finishes.
	MaxDials int
	// LowWater bounds the connections the actor keeps (cluster.connection_manager.low_water):
	// it links to about LowWater members (links.go) and dials others only while fewer than
	// LowWater members are connected. 0: every member (a full mesh).
	LowWater int
	// LiveFor is how long a member neither connected nor heard from (Learned: its ping
	// metric) still counts in the choice of links (default 45s: three default pings). A dead
	// member left out, every peer chooses from the same members.
	LiveFor time.Duration
}

func (c Config) withDefaults() Config {
	if c.TickInterval <= 0 {
		c.TickInterval = 250 * time.Millisecond
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 250 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Second
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.MaxDials <= 0 {
		c.MaxDials = 16
	}
	if c.LiveFor <= 0 {
		c.LiveFor = 45 * time.Second
	}
	return c
}

// Messages the actor receives.
type (
	// bootstrapAddrs adds addresses to dial at start and whenever no member is connected.
	bootstrapAddrs struct{ infos []peer.AddrInfo }
	// peerConnected / peerDisconnected come from the host's network notifications.
	peerConnected    struct{ id peer.ID }
	peerDisconnected struct{ id peer.ID }
	// peerLearned carries addresses a member announced (its ping metric).
	peerLearned struct{ info peer.AddrInfo }
	// peerForgotten: the member was removed (peers rm); it is never dialled again.
	peerForgotten struct{ id peer.ID }
	// tick is the scheduled redial and save round.
	tick struct{}
	// dialDone is an I/O worker's report.
	dialDone struct {
		id  peer.ID
		err error
	}
	// connectedRequest asks for the number of connected members (tests, status).
	connectedRequest struct{}
	// knowsRequest asks whether id is a member this actor dials (answer: bool).
	knowsRequest struct{ id peer.ID }
)

// entry is one known member.
type entry struct {
	addrs     []ma.Multiaddr
	connected bool
	dialing   bool
	backoff   time.Duration
	nextDial  time.Time
	score     float64   // pairScore with this peer: fixed
	linked    bool      // a link (kept connected, protected from trimming)
	redial    bool      // dialled whatever the room: a link, or a dead member that would be one
	heard     time.Time // last Learned (its ping), or when it became known
	live      bool      // connected or heard within LiveFor, at the last tick
	// mismatches counts the dials that failed as a secret mismatch does since the last
	// connection; secretWarned: warned of (at secretMismatchesToWarn), again only after a
	// connection.
	mismatches   int
	secretWarned bool
}

type membershipActor struct {
	self    peer.ID
	net     Network
	cfg     Config
	log     *slog.Logger
	ctx     context.Context // cancelled on Stop: dials in flight give up
	known   map[peer.ID]*entry
	removed map[peer.ID]bool
	dirty   bool
	// relinkDue: the member set or a member's liveness changed since the links were last
	// chosen (links.go).
	relinkDue bool
	alone     bool // no member connected at the last tick
	dialing   int  // entries with a dial in flight (at most cfg.MaxDials)
	// timer schedules the next tick. (protoactor's scheduler package races between its
	// cancel func and its timer goroutine, so a plain timer sends the message.)
	timer *time.Timer
}

func (a *membershipActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.load() // a restarted actor starts again from the durable table
		a.onTick(ctx)
	case *actor.Stopping, *actor.Restarting:
		// A restarted instance starts its own tick chain: the old one must end here.
		if a.timer != nil {
			a.timer.Stop()
		}
		a.save()
	case *bootstrapAddrs:
		a.onBootstrap(m)
	case *peerConnected:
		a.onConnected(m.id)
	case *peerDisconnected:
		a.onDisconnected(m.id)
	case *peerLearned:
		a.onLearned(m.info)
	case *peerForgotten:
		a.onForgotten(m.id)
	case *tick:
		a.onTick(ctx)
	case *dialDone:
		a.onDialDone(m)
	case *connectedRequest:
		ctx.Respond(a.connectedCount())
	case *knowsRequest:
		_, ok := a.known[m.id]
		ctx.Respond(ok && !a.removed[m.id])
	case *actor.Stopped:
	default:
		a.log.Warn("membership: unknown message", "type", m)
	}
}

func (a *membershipActor) entry(id peer.ID) *entry {
	e, ok := a.known[id]
	if !ok {
		e = &entry{backoff: a.cfg.MinBackoff, score: pairScore(a.self, id), heard: time.Now()}
		a.known[id] = e
		a.dirty, a.relinkDue = true, true
	}
	return e
}

func (a *membershipActor) onBootstrap(m *bootstrapAddrs) {
	for _, info := range m.infos {
		if info.ID == a.self || a.removed[info.ID] {
			continue
		}
		e := a.entry(info.ID)
		e.addrs = mergeAddrs(e.addrs, info.Addrs)
	}
}

func (a *membershipActor) onConnected(id peer.ID) {
	if id == a.self || a.removed[id] {
		return
	}
	e := a.entry(id)
	if !e.connected {
		e.connected = true
		e.backoff, e.nextDial, e.secretWarned, e.mismatches = a.cfg.MinBackoff, time.Time{}, false, 0
		a.dirty = true
	}
}

func (a *membershipActor) onDisconnected(id peer.ID) {
	if e, ok := a.known[id]; ok && e.connected && !a.net.IsConnected(id) {
		e.connected = false
		e.nextDial = time.Now() // a lost connection is redialled at once, then with backoff
	}
}

func (a *membershipActor) onLearned(info peer.AddrInfo) {
	if info.ID == a.self || a.removed[info.ID] {
		return
	}
	if len(info.Addrs) == 0 {
		// A ping without addresses still says the member is alive, but names no way to
		// reach it: it refreshes a known member only.
		if e, ok := a.known[info.ID]; ok {
			e.heard = time.Now()
		}
		return
	}
	e := a.entry(info.ID)
	e.heard = time.Now()
	// A member's own announcement replaces what we knew: stale ports go away.
	addrs := mergeAddrs(nil, info.Addrs)
	if !sameAddrs(e.addrs, addrs) {
		e.addrs = addrs
		a.dirty = true
	}
	if !e.connected && !e.dialing {
		e.nextDial = time.Now()
	}
}

func (a *membershipActor) onForgotten(id peer.ID) {
	a.removed[id] = true
	if e, ok := a.known[id]; ok {
		if e.dialing {
			a.dialing--
		}
		if e.linked {
			a.net.Protect(id, false)
		}
		delete(a.known, id)
		a.dirty, a.relinkDue = true, true
	}
}

// onTick refreshes connectedness, starts the dials that are due and saves the table.
func (a *membershipActor) onTick(ctx actor.Context) {
	now := time.Now()
	connected := 0
	for id, e := range a.known {
		e.connected = a.net.IsConnected(id)
		if e.connected {
			connected++
		}
		if live := e.connected || now.Sub(e.heard) < a.cfg.LiveFor; live != e.live {
			e.live, a.relinkDue = live, true
		}
	}
	anyConnected := connected > 0
	a.relink()
	if !anyConnected && !a.alone {
		// Alone: every member known (bootstrap addresses included) is due at once, not after
		// the backoff it had reached; due picks among them.
		a.alone = true
		for _, e := range a.known {
			e.backoff, e.nextDial = a.cfg.MinBackoff, now
		}
	}
	a.alone = !anyConnected
	for _, id := range a.due(now, connected) {
		e := a.known[id]
		e.dialing = true
		a.dialing++
		a.dial(ctx, peer.AddrInfo{ID: id, Addrs: e.addrs})
	}
	if a.dirty {
		a.save()
	}
	a.timer = timer.After(ctx, a.cfg.TickInterval, &tick{})
}

// due lists the members to dial now, as many as the free dial slots: those with the shortest
// backoff first (members just learned or just lost before ones that keep failing), so a few
// unreachable members cannot hold every slot; links before other members. A member that is not
// a link is dialled only while fewer than LowWater members are connected or being dialled (it
// stands in for links that are down), nearest pair score first. Links that fail sort behind
// members not tried yet (their backoff grew), so a peer whose links are gone (alone) reaches
// others after one round of dials.
func (a *membershipActor) due(now time.Time, connected int) []peer.ID {
	free := a.cfg.MaxDials - a.dialing
	if free <= 0 {
		return nil
	}
	var ids []peer.ID
	for id, e := range a.known {
		if e.connected || e.dialing || len(e.addrs) == 0 || now.Before(e.nextDial) {
			continue
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		ei, ej := a.known[ids[i]], a.known[ids[j]]
		if ei.backoff != ej.backoff {
			return ei.backoff < ej.backoff
		}
		if ei.redial != ej.redial {
			return ei.redial
		}
		if !ei.redial && ei.score != ej.score {
			return ei.score < ej.score
		}
		return ei.nextDial.Before(ej.nextDial)
	})
	room := len(a.known) // no bound: every member
	if a.cfg.LowWater > 0 {
		room = a.cfg.LowWater - connected - a.dialing
	}
	out := ids[:0]
	for _, id := range ids {
		if len(out) == free {
			break
		}
		if !a.known[id].redial && room <= 0 {
			continue
		}
		room-- // a link dialled now counts too: it is on its way
		out = append(out, id)
	}
	return out
}

// dial runs one connection attempt in an I/O worker, which reports back with dialDone.
func (a *membershipActor) dial(ctx actor.Context, info peer.AddrInfo) {
	self, system, net, timeout, parent := ctx.Self(), ctx.ActorSystem(), a.net, a.cfg.DialTimeout, a.ctx
	go func() {
		dctx, cancel := context.WithTimeout(parent, timeout)
		err := net.Connect(dctx, info)
		cancel()
		system.Root.Send(self, &dialDone{id: info.ID, err: err})
	}()
}

func (a *membershipActor) onDialDone(m *dialDone) {
	e, ok := a.known[m.id]
	if !ok {
		return // forgotten meanwhile (its slot was freed then)
	}
	if !e.dialing {
		return // a dial of the instance before a restart: this one never counted it
	}
	e.dialing = false
	a.dialing--
	if m.err == nil {
		a.onConnected(m.id)
		return
	}
	// Jitter spreads the redials of many peers that lost the same member at once.
	jitter := time.Duration(rand.Int64N(int64(e.backoff)/4 + 1))
	e.nextDial = time.Now().Add(e.backoff + jitter)
	if secretMismatch(m.err) {
		e.mismatches++
	}
	switch {
	case !e.secretWarned && e.mismatches >= secretMismatchesToWarn:
		// Not a member that is down: the two will never connect until an operator gives them
		// the same secret, and the INFO line below was all a wrong secret used to get. Warned
		// after a few such failures with no connection between (one may be a listener that
		// broke off for another reason), which may follow timeouts (see secretMismatch).
		e.secretWarned = true
		a.log.Warn("membership: a member answers but the private network handshake fails: this peer's cluster secret probably differs from the other peers' (or that member's from the others'); every peer needs the same cluster.secret (CLUSTER_SECRET overrides service.json); redialling with backoff", "peer", m.id, "err", m.err)
	case e.backoff == a.cfg.MinBackoff:
		a.log.Info("membership: cannot reach a member; redialling with backoff", "peer", m.id, "err", m.err)
	}
	e.backoff = min(2*e.backoff, a.cfg.MaxBackoff)
}

// secretMismatchesToWarn is how many dials of a member must fail as a secret mismatch does,
// with no connection between, before it is warned of.
const secretMismatchesToWarn = 3

func (a *membershipActor) connectedCount() int {
	n := 0
	for id := range a.known {
		if a.net.IsConnected(id) {
			n++
		}
	}
	return n
}

// load adds the members of the peerstore file (one multiaddress with /p2p/<id> per line; blank
// lines and # comments skipped; bad lines logged and skipped).
func (a *membershipActor) load() {
	if a.cfg.PeerstorePath == "" {
		return
	}
	b, err := os.ReadFile(a.cfg.PeerstorePath)
	if err != nil {
		if !os.IsNotExist(err) {
			a.log.Warn("membership: reading the peerstore file", "path", a.cfg.PeerstorePath, "err", err)
		}
		return
	}
	var infos []peer.AddrInfo
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		info, err := peer.AddrInfoFromString(l)
		if err != nil {
			a.log.Warn("membership: skipping a bad peerstore line", "line", l, "err", err)
			continue
		}
		infos = append(infos, *info)
	}
	a.onBootstrap(&bootstrapAddrs{infos: infos})
	a.dirty = false // the file already says this
}

// save writes every known member's addresses to the peerstore file, atomically.
func (a *membershipActor) save() {
	if a.cfg.PeerstorePath == "" {
		a.dirty = false
		return
	}
	var lines []string
	for id, e := range a.known {
		for _, addr := range e.addrs {
			if strings.Contains(addr.String(), "/tcp/") {
				lines = append(lines, addr.String()+"/p2p/"+id.String())
			}
		}
	}
	if len(lines) == 0 && len(a.known) > 0 {
		a.dirty = false
		return // members without addresses yet: never replace a useful file with an empty one
	}
	sort.Strings(lines)
	if err := atomicfile.Write(a.cfg.PeerstorePath, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		a.log.Warn("membership: saving the peerstore file", "path", a.cfg.PeerstorePath, "err", err)
		return
	}
	a.dirty = false
}

// mergeAddrs adds the addresses of b missing from a.
func mergeAddrs(a, b []ma.Multiaddr) []ma.Multiaddr {
	out := append([]ma.Multiaddr(nil), a...)
	for _, x := range b {
		dup := false
		for _, y := range out {
			dup = dup || x.Equal(y)
		}
		if !dup {
			out = append(out, x)
		}
	}
	return out
}

func sameAddrs(a, b []ma.Multiaddr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// HostNetwork is a libp2p host as the actor sees it (Network).
type HostNetwork struct{ Host host.Host }

func (n HostNetwork) Connect(ctx context.Context, pi peer.AddrInfo) error {
	return n.Host.Connect(ctx, pi)
}

func (n HostNetwork) IsConnected(id peer.ID) bool {
	return n.Host.Network().Connectedness(id) == network.Connected
}

func (n HostNetwork) Protect(id peer.ID, keep bool) {
	if keep {
		n.Host.ConnManager().Protect(id, ProtectTag)
	} else {
		n.Host.ConnManager().Unprotect(id, ProtectTag)
	}
}
