package remote

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// ProtocolID is the libp2p protocol that carries actor messages.
const ProtocolID = "/pincluster/remote/1.0.0"

// Defaults for Config's zero fields.
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultDialTimeout    = 5 * time.Second
	DefaultMaxMessageSize = 16 << 20
)

// maxQueuedFrames bounds the frames waiting for one peer's writer; beyond it senders get a
// CodeOverloaded error instead of growing memory without bound.
const maxQueuedFrames = 1 << 16

// nonhostAddress is protoactor's address for PIDs made before the system had one.
const nonhostAddress = "nonhost"

// Config tunes a Remote. Zero fields take the defaults above.
type Config struct {
	// RequestTimeout bounds Request (and how long a request is remembered for fail-fast).
	RequestTimeout time.Duration
	// DialTimeout bounds dialing a peer and opening a stream to it.
	DialTimeout time.Duration
	// ProbeAfter is how long Request waits for another peer's answer before it checks with a
	// libp2p ping that the peer is alive, and then again every ProbeAfter (probe.go).
	ProbeAfter time.Duration
	// ProbeTimeout bounds each of those pings: an unanswered one fails the request.
	ProbeTimeout time.Duration
	// Traffic, when set, reports the bytes received from and sent to a peer so far on any
	// protocol of the host (a libp2p bandwidth counter): the probes' evidence that a peer
	// whose ping is slow is still alive. Without it a probe has only its ping.
	Traffic func(peer.ID) (in, out int64)
	// MaxMessageSize bounds one encoded envelope (payload plus ~100 bytes of addressing), both
	// sent and received.
	MaxMessageSize int
	// Authorize, when set, is asked before each inbound message is decoded and delivered: from
	// is the authenticated peer of the connection, msgType the codec name, and isReply whether
	// this peer had a request to from outstanding for the message's target (so the message
	// answers it). A non-nil error refuses the message; the sender gets a CodeForbidden error.
	// It must be fast and safe for concurrent use (it runs on stream reader goroutines).
	Authorize func(from peer.ID, msgType string, isReply bool) error
}

// Default returns the default configuration.
func Default() Config {
	return Config{RequestTimeout: DefaultRequestTimeout, DialTimeout: DefaultDialTimeout, MaxMessageSize: DefaultMaxMessageSize,
		ProbeAfter: DefaultProbeAfter, ProbeTimeout: DefaultProbeTimeout}
}

// Validate reports a negative setting.
func (c Config) Validate() error {
	switch {
	case c.RequestTimeout < 0:
		return fmt.Errorf("%w: remote request_timeout %s is negative: use a positive duration or 0 for %s", api.ErrInvalid, c.RequestTimeout, DefaultRequestTimeout)
	case c.DialTimeout < 0:
		return fmt.Errorf("%w: remote dial_timeout %s is negative: use a positive duration or 0 for %s", api.ErrInvalid, c.DialTimeout, DefaultDialTimeout)
	case c.ProbeAfter < 0 || c.ProbeTimeout < 0:
		return fmt.Errorf("%w: remote probe_after %s and probe_timeout %s must not be negative", api.ErrInvalid, c.ProbeAfter, c.ProbeTimeout)
	case c.MaxMessageSize < 0:
		return fmt.Errorf("%w: remote max_message_size %d is negative: use a positive size or 0 for %d", api.ErrInvalid, c.MaxMessageSize, DefaultMaxMessageSize)
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := Default()
	if c.RequestTimeout == 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.ProbeAfter == 0 {
		c.ProbeAfter = d.ProbeAfter
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = d.ProbeTimeout
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = d.MaxMessageSize
	}
	return c
}

// Remote carries actor messages between this peer's actor system and other peers'. It is safe
// for concurrent use.
type Remote struct {
	// sweepTimer expires replies' pending entries every RequestTimeout (a scheduled call that
	// re-arms itself, so no goroutine loops between sweeps).
	sweepTimer *time.Timer
	h          host.Host
	system     *actor.ActorSystem
	reg        *Registry
	cfg        Config
	log        *slog.Logger
	self       peer.ID
	address    string
	proc       *process
	pending    pendingTable

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	endpoints map[peer.ID]*endpoint
	inbound   map[network.Stream]struct{}
	probes    map[peer.ID]*prober // liveness probes of peers with requests waiting (probe.go)
}

// New makes system reachable from other peers through h: it sets the system's address to the
// host's peer ID, resolves PIDs whose address is another peer's ID to the wire, and serves
// ProtocolID. Call it before spawning actors (their PIDs carry the address) and only once per
// system. Every message type that crosses peers must be registered in reg.
func New(h host.Host, system *actor.ActorSystem, reg *Registry, cfg Config, log *slog.Logger) (*Remote, error) {
	if h == nil || system == nil || reg == nil {
		return nil, fmt.Errorf("%w: remote.New needs a host, an actor system and a registry", api.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	addr := h.ID().String()
	if cur := system.ProcessRegistry.Address; cur != nonhostAddress && cur != addr {
		return nil, fmt.Errorf("%w: actor system already has address %q: use one Remote per actor system", api.ErrInvalid, cur)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Remote{
		h: h, system: system, reg: reg, cfg: cfg.withDefaults(),
		log:  log.With("component", "remote"),
		self: h.ID(), address: addr,
		ctx: ctx, cancel: cancel,
		endpoints: map[peer.ID]*endpoint{},
		inbound:   map[network.Stream]struct{}{},
		probes:    map[peer.ID]*prober{},
	}
	r.proc = &process{r: r}
	system.ProcessRegistry.Address = addr
	system.ProcessRegistry.RegisterAddressResolver(r.resolve)
	h.SetStreamHandler(ProtocolID, r.handleStream)
	r.sweepTimer = time.AfterFunc(time.Duration(math.MaxInt64), r.sweep) // armed once the field is set
	r.sweepTimer.Reset(r.cfg.RequestTimeout)
	return r, nil
}

// PID returns the PID of the actor named name on peer p (this peer included).
func (r *Remote) PID(p peer.ID, name string) *actor.PID {
	return actor.NewPID(p.String(), name)
}

// Close stops serving ProtocolID, fails queued and pending requests with CodeClosed and waits
// for its goroutines. Messages sent to other peers afterwards fail the same way.
func (r *Remote) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	eps := make([]*endpoint, 0, len(r.endpoints))
	for _, ep := range r.endpoints {
		eps = append(eps, ep)
	}
	streams := make([]network.Stream, 0, len(r.inbound))
	for s := range r.inbound {
		streams = append(streams, s)
	}
	for id, p := range r.probes { // a round under way ends with r.ctx and is waited for below
		p.timer.Stop()
		delete(r.probes, id)
	}
	r.mu.Unlock()

	r.h.RemoveStreamHandler(ProtocolID)
	r.cancel()
	r.sweepTimer.Stop() // a sweep already running sees ctx done and does not re-arm
	closedErr := remoteErr(CodeClosed, "remote messaging on peer %s is closed", r.self)
	for _, ep := range eps {
		ep.die(closedErr)
	}
	for _, s := range streams {
		_ = s.Reset()
	}
	r.wg.Wait()
	return nil
}

// resolve is the actor system's address resolver: a PID on another peer resolves to the wire.
func (r *Remote) resolve(pid *actor.PID) (actor.Process, bool) {
	if _, err := peer.Decode(pid.Address); err != nil {
		return nil, false
	}
	return r.proc, true
}

func (r *Remote) isLocal(addr string) bool {
	return addr == r.address || addr == nonhostAddress || addr == ""
}

// peerName names the peer of a PID address in errors.
func (r *Remote) peerName(addr string) string {
	if r.isLocal(addr) {
		return r.address
	}
	return addr
}

// failLocal tells a sender its message was not delivered. Without a sender, the error is logged.
func (r *Remote) failLocal(sender *actor.PID, err *RemoteError) {
	if sender == nil {
		r.log.Debug("dropped a remote message", "err", err.Message)
		return
	}
	r.system.Root.Send(sender, err)
}

// sweep forgets requests that were never answered, so the pending table stays bounded.
func (r *Remote) sweep() {
	if r.ctx.Err() != nil {
		return
	}
	r.pending.expire(time.Now().Add(-2 * r.cfg.RequestTimeout))
	r.sweepTimer.Reset(r.cfg.RequestTimeout)
}

// process is the actor.Process of every PID on another peer.
type process struct{ r *Remote }

var _ actor.Process = (*process)(nil)

func (p *process) SendUserMessage(pid *actor.PID, message any) { p.r.send(pid, message) }

func (p *process) SendSystemMessage(pid *actor.PID, message any) {
	p.r.log.Warn("system messages (watch, stop) do not cross peers; dropped",
		"target", pid.Id, "peer", pid.Address, "type", fmt.Sprintf("%T", message))
}

func (p *process) Stop(pid *actor.PID) { p.SendSystemMessage(pid, &actor.Stop{}) }
