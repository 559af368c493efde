// Package peer assembles a pincluster peer: configuration, identity, the libp2p host, the
// Badger stores, the IPFS backend, the actor tree under one root supervisor (actors/root), the
// request-facing services (cluster/, built from adapters over these parts in services.go) and
// the REST API, and runs its lifecycle.
//
// Decisions made here:
//   - The pinset's Badger store lives in <dir>/pinset and the embedded IPFS node in <dir>/ipfs;
//     both directories belong to the daemon holding <dir>/daemon.lock.
//   - A pin is acknowledged once its op is durable in the pinset store; reconciling it with
//     the IPFS node is asynchronous (the pinset sends PinsetChanged to the tracker), and a restart re-derives that work from
//     the pinset (startup sync), so nothing acknowledged depends on in-memory queues.
//   - Admission control: the services refuse a pin (api.ErrQueueFull) when the tracker queue
//     already holds max_pin_queue_size items or the batcher max_queue_size ops, before anything
//     is written; the tracker and the batcher are the services' gates.
//   - Membership is what the peer can see (the roster, roster/): itself, connected hosts (only holders of the cluster
//     secret can connect) and peers with a valid ping metric, minus peers removed with
//     `peers rm`. The ping metric carries the peer's addresses, so peers that bootstrapped to
//     different peers still meet.
//   - Repinning (on by default, unlike IPFS Cluster): when a peer's ping expires, the monitor
//     sends PeerDown to the healer (actors/healer), and only the live member with the lowest
//     peer ID reallocates its under-replicated pins, so one peer commits each change instead
//     of every peer racing to.
//   - Allocation asks the allocator actor, which subscribes to the metrics topic itself and
//     keeps its ranking of the live, non-removed peers current; this peer's informer sends it
//     its own metrics, and New returns only once they are known (a pin right after start finds
//     this peer a candidate).
//   - Every long-lived actor is a child of the root actor, restarted fresh with backoff when it
//     panics (actors/root). Timers are scheduled messages inside the actors.
//   - Peer removal travels on its own topic (<cluster_name>/removals, read by the gossip actor,
//     actors/gossip) and, inside the peer, from the roster as messages.PeerRemoved to the
//     monitor, the allocator and the healer.
//   - Bearer tokens are recorded by id cluster-wide (actors/tokens): the REST API records each
//     token it issues and checks each bearer token against the revocations in the store;
//     records travel on <cluster_name>/tokens and are pulled from every new connection.
//   - cluster.leave_on_shutdown: RunDaemon's clean shutdown first runs the services'
//     LeaveCluster (leave.go, bounded by LeaveTimeout), so the peer leaves as peers rm would
//     and its state is moved to a backup like a removed peer's.
//   - cluster.follower_mode (follower.go): the services refuse writes, the informer
//     adds the follower metric, the healer commits nothing and repins nothing, the RPC policy
//     closes IPFS GC (rpcwire.ForFollower); follow.Write sets up a follower's directory from
//     a template for `pincluster follow`.
//   - No goroutine loops here: the peer joins the pubsub topics (gossip.Join) and spawns the
//     actors; background work runs in the actors and their I/O workers, and Close stops them.
//   - Tests and benchmarks see a peer's parts only through Options.Probe (internal/peerprobe);
//     the Peer exports its lifecycle and, promoted from cluster.Services, the services.
package peer

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/allocator"
	"github.com/pincluster/pincluster/actors/antientropy"
	"github.com/pincluster/pincluster/actors/batcher"
	"github.com/pincluster/pincluster/actors/gossip"
	"github.com/pincluster/pincluster/actors/healer"
	"github.com/pincluster/pincluster/actors/informer"
	"github.com/pincluster/pincluster/actors/membership"
	"github.com/pincluster/pincluster/actors/monitor"
	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/actors/statusdigest"
	"github.com/pincluster/pincluster/actors/syncer"
	"github.com/pincluster/pincluster/actors/tokens"
	"github.com/pincluster/pincluster/actors/tracker"
	"github.com/pincluster/pincluster/api/ipfsproxy"
	"github.com/pincluster/pincluster/api/pinsvc"
	"github.com/pincluster/pincluster/api/rest"
	"github.com/pincluster/pincluster/blockpush"
	"github.com/pincluster/pincluster/cluster"
	"github.com/pincluster/pincluster/cluster/rpcwire"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/internal/passgate"
	"github.com/pincluster/pincluster/internal/peerprobe"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/embedded"
	"github.com/pincluster/pincluster/ipfs/kubo"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/offlinestate"
	"github.com/pincluster/pincluster/persistence"
	"github.com/pincluster/pincluster/remote"
	"github.com/pincluster/pincluster/roster"
	"github.com/pincluster/pincluster/telemetry"
)

// Version is pincluster's version.
const Version = "0.1.0"

// Peer is a running pincluster peer. The request-facing services (cluster/) are built here and
// promoted for in-process callers (the test harness); the REST server gets each as the small
// interface it needs.
type Peer struct {
	*cluster.Services

	dir   string
	cfg   servicejson.Config
	ident identity.Identity
	log   *slog.Logger
	// passes: the healer's state sync and the status digest's reconcile take turns;
	// transfers: snapshot loads and pulls of whole status digests do (internal/passgate).
	passes, transfers passgate.Gate

	host    host.Host
	system  *actor.ActorSystem
	root    *root.Root
	store   *persistence.Store
	ipfs    ipfs.Backend
	clock   *crdt.Clock
	pinset  *pinset.Pinset
	tracker *tracker.Tracker
	rest    *rest.Server
	proxy   *ipfsproxy.Server // the IPFS proxy API, started with the REST API
	metrics *telemetry.Server // the Prometheus endpoint (observations.metrics)
	pinsvc  *pinsvc.Server    // the IPFS Pinning Service API, started with the REST API (pinsvc.go)

	remote      *remote.Remote
	topics      *gossip.Topics
	gossip      *gossip.Gossip
	roster      *roster.Roster
	batcher     *batcher.Batcher
	syncer      *syncer.Syncer
	streams     *syncer.Streams // what the gossip is delivering, left out of pulls
	collector   *syncer.Collector
	monitor     *monitor.Monitor
	allocator   *allocator.Allocator
	informer    *informer.Informer
	antientropy *antientropy.Scheduler
	tokens      *tokens.Registry // bearer-token records and revocations (actors/tokens)
	digests     *statusdigest.Digests
	healer      *healer.Healer
	blockServer *blockpush.Server // stores blocks pushed by a cluster add (blockpush.go)
	blockPusher *blockpush.Pusher // nil when the backend cannot store raw blocks
	rpc         *actor.PID
	membership  *membership.Membership

	// left is set when this peer was removed from the cluster (peers rm); leave stops the
	// daemon.
	left  atomic.Bool
	leave func()
	// leaveMu guards leaveTimer and leaveAt: when leave runs (info.go).
	leaveMu    sync.Mutex
	leaveTimer *time.Timer
	leaveAt    time.Time

	started    time.Time
	cancel     context.CancelFunc // ends the peer's background work (gossipsub, RPC workers)
	rpcWorkers sync.WaitGroup     // the rpc actor's request workers, waited for by Close
	closed     sync.Once
}

// Options tune a peer beyond its config (tests inject a fake IPFS backend).
type Options struct {
	Logger *slog.Logger
	// Backend replaces the embedded IPFS node when set; the peer does not close it.
	Backend ipfs.Backend
	// NoREST skips the REST API and the IPFS proxy API (in-process tests).
	NoREST bool
	// Bootstrap lists peers to join at start (daemon --bootstrap).
	Bootstrap []string
	// Leave is called (once, from a goroutine) when this peer is removed from the cluster; the
	// daemon stops on it. Nil: nothing happens beyond Close by the owner.
	Leave func()
	// ConnGater, when set, filters the host's connections (tests use it to partition peers).
	ConnGater connmgr.ConnectionGater

	// Fault-injection hooks (internal/faults, the chaos harness); nil means none.

	// Bandwidth, when set, counts the host's bytes in and out (the scale harness's gossip cost).
	Bandwidth metrics.Reporter
	// OnHost is called with the libp2p host once it is up.
	OnHost func(host.Host)
	// ClockSource is the hybrid logical clock's wall-time source (nil: time.Now).
	ClockSource func() time.Time
	// WrapBackend wraps the IPFS backend (embedded, kubo or Backend) the peer pins on.
	WrapBackend func(ipfs.Backend) ipfs.Backend
	// StoreWriteFault is checked before every pinset store write; its error fails the write.
	StoreWriteFault func() error
	// FaultHooks lets supervision tests crash an actor of the tree (the probe's Crash).
	FaultHooks bool

	// Probe, when set, receives the peer's read-only view for in-process tests and benchmarks
	// (internal/peerprobe) once the peer has started.
	Probe *peerprobe.Probe
}

// New starts a peer from a loaded config and identity in dir. The caller holds the dir lock.
func New(ctx context.Context, dir string, cfg servicejson.Config, ident identity.Identity, opts Options) (_ *Peer, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	secret, err := cfg.Cluster.SecretBytes()
	if err != nil {
		return nil, err
	}
	// p is not the named result: `return nil, err` must not nil the peer that the parts
	// started so far (and the cleanup below) still use.
	p := &Peer{dir: dir, cfg: cfg, ident: ident, log: log, clock: crdt.NewClock(opts.ClockSource), leave: opts.Leave,
		passes: passgate.New(), transfers: passgate.New()}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	// Every stream's bytes are counted per peer: the remote's liveness probes read them.
	traffic := &remote.TrafficCounter{Inner: opts.Bandwidth}
	if p.host, err = newHost(ctx, ident, cfg.Cluster.ListenMultiaddress, secret, cfg.Cluster.ConnectionManager, opts.ConnGater, traffic, log); err != nil {
		return nil, err
	}
	traffic.ForgetOnDisconnect(p.host.Network())
	if opts.OnHost != nil {
		opts.OnHost(p.host)
	}
	if p.store, err = persistence.Open(persistence.Options{Dir: filepath.Join(dir, "pinset"), SyncWrites: cfg.Datastore.SyncWrites, Logger: log,
		MinFreeSpace: int64(cfg.Datastore.MinFreeSpace), WriteFault: opts.StoreWriteFault}); err != nil {
		return nil, fmt.Errorf("opening the pinset store in %s: %w", filepath.Join(dir, "pinset"), err)
	}
	// After `state cleanup` or a backup moved back, own ops are numbered after those the
	// other peers already hold (offlinestate.OwnFloorFile).
	if err = offlinestate.ApplyOwnFloor(dir, p.store, ident.ID); err != nil {
		return nil, err
	}
	// And a state moved back from a backup publishes its status digest under a new epoch
	// (offlinestate.OwnDigestEpochFile), before the status digest actor reads it.
	if err = offlinestate.RetireMovedDigest(dir, p.store, ident.ID); err != nil {
		return nil, err
	}
	if p.roster, err = roster.New(roster.Config{Self: ident.ID, Peername: cfg.Cluster.Peername, TrustedPeers: cfg.Consensus.CRDT.TrustedPeers},
		p.host, p.store, log); err != nil {
		return nil, err
	}
	p.roster.OnSelfRemoved(func() {
		p.onLeaveRequest(&messages.LeaveRequest{By: "a trusted peer's report of this peer's removal"}, leaveReplyGrace)
	})
	if p.ipfs, err = openBackend(ctx, dir, cfg, p.host, p.store, opts, log); err != nil {
		return nil, err
	}
	p.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}))
	reg := remote.NewRegistry()
	if err = rpcwire.Register(reg); err != nil {
		return nil, err
	}
	rcfg := remote.Default()
	rcfg.Traffic = traffic.Traffic
	rcfg.Authorize = rpcwire.Authorize(p.roster.Trusted)
	if cfg.Cluster.FollowerMode {
		rcfg.Authorize = rpcwire.ForFollower(rcfg.Authorize)
	}
	if p.remote, err = remote.New(p.host, p.system, reg, rcfg, log); err != nil {
		return nil, err
	}
	if p.root, err = root.Spawn(p.system, root.Config{FaultHooks: opts.FaultHooks}, log); err != nil {
		return nil, err
	}
	if p.tracker, err = tracker.New(p.root, cfg.TrackerConfig(), p.ipfs, p.store, ident.ID, cfg.Cluster.Peername, log); err != nil {
		return nil, err
	}
	bgCtx, cancel := context.WithCancel(context.Background())
	p.cancel, p.started = cancel, time.Now()
	if p.topics, err = gossip.Join(bgCtx, p.host, cfg.Consensus.CRDT.ClusterName); err != nil {
		return nil, err
	}
	b := cfg.Consensus.CRDT.Batching
	if p.batcher, err = batcher.Spawn(p.root, ident.ID, batcher.Config{MaxBatchSize: b.MaxBatchSize, MaxBatchAge: b.MaxBatchAge.D(), MaxQueueSize: b.MaxQueueSize},
		p.topics, p.store, log); err != nil {
		return nil, err
	}
	// The tracker and the batcher hear of every change by message (PinsetChanged).
	if p.pinset, err = pinset.Spawn(p.root, ident.ID, p.store, p.clock, []*actor.PID{p.tracker.PID(), p.batcher.PID()}, log); err != nil {
		return nil, err
	}
	p.streams = syncer.NewStreams()
	if p.syncer, err = syncer.Spawn(p.root, p.store, p.remote, p.pinset, p.roster.Trusted, log, syncer.WithOpTrust(p.roster.TrustedOp),
		syncer.WithRemovals(p.roster.Snapshot, p.roster.LearnRemovals), syncer.WithLiveness(p.roster.SignsOfLife, p.roster.LearnHeard),
		syncer.WithStreams(p.streams), syncer.WithTransfers(p.transfers), syncer.WithAnnouncements(p.roster.Announced),
		syncer.WithSelf(ident.ID)); err != nil {
		return nil, err
	}
	if p.collector, err = syncer.SpawnCollector(p.root, syncer.CollectorRhythm(ident.ID, cfg.Cluster.StateSyncInterval.D(),
		cfg.Consensus.CRDT.RebroadcastInterval.D(), cfg.Consensus.CRDT.AbsentPeerHorizon.D()), p.store, p.pinset, p.tracker.Held, p.syncer, p.roster, log); err != nil {
		return nil, err
	}
	p.store.SetRacedHandler(p.collector.RacedPins)
	p.pinset.Subscribe(p.collector.PID()) // remote ops are signs of life of their origins
	if err = p.spawnHealth(); err != nil {
		return nil, err
	}
	p.roster.Attach(roster.Actors{System: p.system, Monitor: p.monitor, Pinset: p.pinset, Collector: p.collector,
		Removed: []*actor.PID{p.monitor.PID(), p.allocator.PID(), p.healer.PID()}, Announce: p.topics.AnnounceRemoval})
	if p.blockPusher, err = p.startBlockPush(); err != nil {
		return nil, err
	}
	if p.Services, err = p.newServices(); err != nil {
		return nil, err
	}
	// Other peers address the rpc actor by its bare name (cluster.RPCActorName): the root
	// registers it.
	if p.rpc, err = p.root.SpawnAliased(cluster.RPCProps(p.Services, bgCtx, &p.rpcWorkers), "rpc", cluster.RPCActorName); err != nil {
		return nil, err
	}
	if p.membership, err = membership.Spawn(p.root, ident.ID, membership.HostNetwork{Host: p.host},
		membership.Config{PeerstorePath: filepath.Join(dir, PeerstoreFile), Removed: p.roster.List(),
			LowWater: cfg.Cluster.ConnectionManager.LowWater, LiveFor: 3 * cfg.Cluster.MonitorPingInterval.D()}, log); err != nil {
		return nil, err
	}
	p.roster.AttachMembership(p.membership)
	if p.antientropy, err = antientropy.Spawn(p.root, antientropy.Deps{Interval: cfg.Consensus.CRDT.RebroadcastInterval.D(),
		Members: p.roster, Puller: p.syncer}, log); err != nil {
		return nil, err
	}
	if p.tokens, err = tokens.Spawn(p.root, tokens.Deps{Self: ident.ID, Store: p.store, Topic: p.topics, Remote: p.remote,
		Members: p.roster, Interval: cfg.Consensus.CRDT.RebroadcastInterval.D()}, log); err != nil {
		return nil, err
	}
	if err = p.startDigests(); err != nil {
		return nil, err
	}
	if p.gossip, err = gossip.Spawn(p.root, gossip.Deps{Topics: p.topics, Host: p.host, Pinset: p.pinset, Monitor: p.monitor,
		Membership: p.membership, Roster: p.roster, Seqs: p.store, Puller: p.antientropy, Tokens: p.tokens, Digests: p.digests,
		Versions: p.syncer, Arrivals: p.streams}, log); err != nil {
		return nil, err
	}
	p.watchConnections()
	p.batcher.Republish(p.store, ident.ID, log)
	p.membership.BootstrapAddrs(ident.ID, opts.Bootstrap, log)
	// This peer's metrics reach its monitor and allocator before it serves (see the package doc).
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	if perr := p.informer.PublishNow(pctx); perr != nil {
		log.Warn("publishing this peer's first metrics", "err", perr)
	}
	pcancel()
	if !opts.NoREST {
		rsvc := restServices(p.Services, p)
		rsvc.Tokens = p.tokens
		if p.rest, err = rest.NewServer(cfg.API.RestAPI, rsvc, log); err != nil {
			return nil, err
		}
		if err = p.rest.Start(); err != nil {
			return nil, err
		}
		if p.proxy, err = p.newIPFSProxy(log); err != nil {
			return nil, err
		}
		if err = p.proxy.Start(); err != nil {
			return nil, err
		}
		if err = p.startMetrics(log); err != nil {
			return nil, err
		}
		if err = p.startPinSvc(log); err != nil {
			return nil, err
		}
	}
	if opts.Probe != nil {
		*opts.Probe = p.probe()
	}
	return p, nil
}

// openBackend opens the IPFS backend the config names (or the injected one), wrapped by the
// fault hook when set.
func openBackend(ctx context.Context, dir string, cfg servicejson.Config, h host.Host, store *persistence.Store, opts Options, log *slog.Logger) (ipfs.Backend, error) {
	var b ipfs.Backend
	switch {
	case opts.Backend != nil:
		b = nopCloser{opts.Backend}
	case cfg.IPFS.Backend == "kubo":
		k, err := kubo.New(ctx, kubo.Config{NodeMultiaddress: cfg.IPFS.NodeMultiaddress, RequestTimeout: cfg.IPFS.IPFSRequestTimeout.D()})
		if err != nil {
			return nil, err
		}
		b = k
	default:
		em, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(dir, "ipfs"), SyncWrites: cfg.Datastore.SyncWrites, MinFreeSpace: int64(cfg.Datastore.MinFreeSpace), StorageMax: cfg.IPFS.StorageMax, Host: h, Logger: log,
			Sources: pinSources(store)})
		if err != nil {
			return nil, fmt.Errorf("starting the embedded IPFS node in %s: %w", filepath.Join(dir, "ipfs"), err)
		}
		b = em
	}
	if opts.WrapBackend != nil {
		b = opts.WrapBackend(b)
	}
	return b, nil
}

// PeerID is this peer's ID.
func (p *Peer) PeerID() libp2ppeer.ID { return p.ident.ID }

// RESTAddr is the bound REST API address ("" without REST).
func (p *Peer) RESTAddr() string {
	if p.rest == nil {
		return ""
	}
	return p.rest.Addr().String()
}

// nopCloser keeps an injected backend open when the peer closes.
type nopCloser struct{ ipfs.Backend }

func (nopCloser) Close() error { return nil }

// Unwrap is the injected backend (ipfs.Wrapper).
func (n nopCloser) Unwrap() ipfs.Backend { return n.Backend }
