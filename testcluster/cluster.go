package testcluster

import (
	"context"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/internal/peerprobe"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/ipfs/fake"
	"github.com/pincluster/pincluster/peer"
)

// PingInterval is the harness's cluster.monitor_ping_interval: a peer's ping expires (and its
// alert fires) about 2*PingInterval after it dies.
const PingInterval = time.Second

// Option customises a cluster.
type Option func(*options)

type options struct {
	backend func(i int) ipfs.Backend
	config  []func(i int, cfg *servicejson.Config)
	real    bool
	idents  []identity.Identity
	start   int
	bw      bool
	formed  time.Duration // bound on New's wait for full membership (30 s)
}

// WithBackend gives peer i the backend b(i) instead of a fresh fake. The harness never closes
// it; it survives Restart as an IPFS daemon would.
func WithBackend(b func(i int) ipfs.Backend) Option { return func(o *options) { o.backend = b } }

// WithConfig adjusts peer i's config after the harness defaults are set. Several may be given;
// they run in order.
func WithConfig(f func(i int, cfg *servicejson.Config)) Option {
	return func(o *options) { o.config = append(o.config, f) }
}

// WithRealIPFS runs each peer on its embedded IPFS node (in its dir) instead of a fake.
func WithRealIPFS() Option { return func(o *options) { o.real = true } }

// WithIdentities sets the peers' identities (the first len(ids) peers), so configs can name
// peer IDs (trusted_peers) before the peers start.
func WithIdentities(ids ...identity.Identity) Option { return func(o *options) { o.idents = ids } }

// WithBandwidth counts each peer's libp2p bytes in and out (Bandwidth reads them).
func WithBandwidth() Option { return func(o *options) { o.bw = true } }

// WithFormation bounds New's wait until every peer sees every other one (30 s by default).
func WithFormation(d time.Duration) Option { return func(o *options) { o.formed = d } }

// WithStarted starts only the first n peers; the others are prepared (dir, identity, config)
// and start with Start(i).
func WithStarted(n int) Option { return func(o *options) { o.start = n } }

// Cluster is a set of in-process peers. Its methods must be called from the test's goroutine
// unless they say otherwise; Peer, ID and the accessors are safe from any goroutine.
type Cluster struct {
	t      testing.TB
	secret string
	logs   *logSink
	opts   options
	part   *partition

	mu    sync.Mutex
	nodes []*node
}

type node struct {
	i       int
	dir     string
	ident   identity.Identity
	cfg     servicejson.Config
	backend ipfs.Backend // nil: embedded node
	fake    *fake.Backend
	gater   *gater
	p       *peer.Peer                // nil while stopped
	probe   peerprobe.Probe           // of the last start
	port    int                       // bound TCP port after the first start
	bw      *metrics.BandwidthCounter // nil without WithBandwidth; kept across restarts
}

// New starts n peers bootstrapped to peer 0 and waits until every peer sees every other one's
// ping metric (the pubsub topics work and allocation can use all peers).
func New(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := &Cluster{t: t, secret: config.NewSecret(), logs: newLogSink(), part: newPartition()}
	c.opts.start, c.opts.formed = n, 30*time.Second
	for _, o := range opts {
		o(&c.opts)
	}
	for i := 0; i < n; i++ {
		nd := &node{i: i, dir: t.TempDir()}
		if i < len(c.opts.idents) {
			nd.ident = c.opts.idents[i]
		} else {
			id, err := identity.New()
			if err != nil {
				t.Fatal(err)
			}
			nd.ident = id
		}
		nd.gater = &gater{self: nd.ident.ID, part: c.part}
		if c.opts.bw {
			nd.bw = metrics.NewBandwidthCounter()
		}
		switch {
		case c.opts.backend != nil:
			nd.backend = c.opts.backend(i)
			nd.fake, _ = nd.backend.(*fake.Backend)
		case !c.opts.real:
			nd.fake = fake.New()
			nd.backend = nd.fake
		}
		nd.cfg = c.config(i)
		c.nodes = append(c.nodes, nd)
	}
	// After the TempDirs: cleanups run last-in first-out, and the peers must be closed before
	// their directories are removed.
	t.Cleanup(c.closeAll)
	if c.opts.start > 0 {
		c.startNode(c.nodes[0])
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 1; i < c.opts.start && i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = c.tryStart(c.nodes[i], true)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("starting peer %d: %v", i, err)
		}
	}
	c.WaitConnected(c.opts.formed)
	return c
}

// config is the harness default config of peer i with the WithConfig adjustments.
func (c *Cluster) config(i int) servicejson.Config {
	cfg := servicejson.Default()
	cfg.Cluster.Peername = fmt.Sprintf("peer%d", i)
	cfg.Cluster.Secret = c.secret
	cfg.Cluster.ListenMultiaddress = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.API.RestAPI.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.Cluster.MonitorPingInterval = config.Duration(PingInterval)
	cfg.Cluster.StateSyncInterval = config.Duration(2 * time.Second)
	cfg.Cluster.PinRecoverInterval = config.Duration(2 * time.Second)
	cfg.Informer.MetricTTL = 2 * PingInterval
	cfg.Monitor.CheckInterval = 100 * time.Millisecond
	cfg.Consensus.CRDT.RebroadcastInterval = config.Duration(500 * time.Millisecond)
	cfg.Consensus.CRDT.Batching.MaxBatchSize = 64
	cfg.Consensus.CRDT.Batching.MaxBatchAge = config.Duration(50 * time.Millisecond)
	cfg.Consensus.CRDT.TrustedPeers = []string{"*"}
	for _, f := range c.opts.config {
		f(i, &cfg)
	}
	return cfg
}

func (c *Cluster) startNode(nd *node) {
	c.t.Helper()
	if err := c.tryStart(nd, true); err != nil {
		c.t.Fatalf("starting peer %d: %v", nd.i, err)
	}
}

// tryStart starts nd on its port (0 the first time), bootstrapped to the running peers unless
// withBoot is false (it then knows only what its peerstore file holds).
func (c *Cluster) tryStart(nd *node, withBoot bool) error {
	cfg := nd.cfg
	c.mu.Lock()
	port := nd.port
	c.mu.Unlock()
	if port != 0 {
		cfg.Cluster.ListenMultiaddress = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}
	}
	var boot []string
	c.mu.Lock()
	for _, o := range c.nodes {
		if withBoot && o != nd && o.port != 0 {
			boot = append(boot, o.addr())
		}
	}
	c.mu.Unlock()
	var probe peerprobe.Probe
	p, err := peer.New(context.Background(), nd.dir, cfg, nd.ident, peer.Options{
		Probe:     &probe,
		Logger:    c.logs.logger(nd.i),
		Backend:   nd.backend,
		NoREST:    true,
		Bootstrap: boot,
		ConnGater: nd.gater,
		Bandwidth: reporter(nd.bw),
		// Supervision tests crash actors of the tree (the probe's Crash).
		FaultHooks: true,
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	nd.p, nd.probe = p, probe
	if nd.port == 0 {
		for _, a := range probe.Host().Addrs() {
			if na, err := manet.ToNetAddr(a); err == nil && strings.HasPrefix(a.String(), "/ip4/127.0.0.1/tcp/") {
				nd.port = portOf(na.String())
				break
			}
		}
	}
	return nil
}

// reporter is bw as a metrics.Reporter, nil (no counting) when bw is nil.
func reporter(bw *metrics.BandwidthCounter) metrics.Reporter {
	if bw == nil {
		return nil
	}
	return bw
}

// Bandwidth is peer i's libp2p traffic since it was first started (zero without WithBandwidth).
func (c *Cluster) Bandwidth(i int) metrics.Stats {
	nd := c.node(i)
	if nd.bw == nil {
		return metrics.Stats{}
	}
	return nd.bw.GetBandwidthTotals()
}

func portOf(hostport string) int {
	var port int
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		fmt.Sscanf(hostport[i+1:], "%d", &port)
	}
	return port
}

func (nd *node) addr() string {
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", nd.port, nd.ident.ID)
}

func (c *Cluster) snapshot() []*node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*node(nil), c.nodes...)
}

func (c *Cluster) node(i int) *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.nodes) {
		c.t.Fatalf("testcluster: no peer %d (cluster of %d)", i, len(c.nodes))
	}
	return c.nodes[i]
}

// N is the number of peers, running or not.
func (c *Cluster) N() int { return len(c.snapshot()) }

// Peer is peer i, or nil while it is stopped (killed and not restarted).
func (c *Cluster) Peer(i int) *peer.Peer {
	nd := c.node(i)
	c.mu.Lock()
	defer c.mu.Unlock()
	return nd.p
}

// Probe is the read-only view of peer i's parts (host, backend, queues) from its last start.
func (c *Cluster) Probe(i int) peerprobe.Probe {
	nd := c.node(i)
	c.mu.Lock()
	defer c.mu.Unlock()
	return nd.probe
}

// Peers lists the running peers in index order.
func (c *Cluster) Peers() []*peer.Peer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*peer.Peer
	for _, nd := range c.nodes {
		if nd.p != nil {
			out = append(out, nd.p)
		}
	}
	return out
}

// Running lists the indexes of the running peers.
func (c *Cluster) Running() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for _, nd := range c.nodes {
		if nd.p != nil {
			out = append(out, nd.i)
		}
	}
	return out
}

// ID is peer i's peer ID (known even while it is stopped).
func (c *Cluster) ID(i int) libp2ppeer.ID { return c.node(i).ident.ID }

// Index is the index of the peer with ID id, or -1.
func (c *Cluster) Index(id libp2ppeer.ID) int {
	for _, nd := range c.snapshot() {
		if nd.ident.ID == id {
			return nd.i
		}
	}
	return -1
}

// Fake is peer i's fake IPFS backend (nil with WithRealIPFS or a non-fake WithBackend).
func (c *Cluster) Fake(i int) *fake.Backend { return c.node(i).fake }

// Dir is peer i's config directory.
func (c *Cluster) Dir(i int) string { return c.node(i).dir }

// Addr is peer i's cluster multiaddress with /p2p/<id> (empty before its first start).
func (c *Cluster) Addr(i int) string {
	nd := c.node(i)
	c.mu.Lock()
	defer c.mu.Unlock()
	if nd.port == 0 {
		return ""
	}
	return nd.addr()
}

// Secret is the cluster secret (hex).
func (c *Cluster) Secret() string { return c.secret }

// Config is the config peer i runs with (before its port is fixed by the first start).
func (c *Cluster) Config(i int) servicejson.Config { return c.node(i).cfg }

// Start starts peer i (prepared by WithStarted or stopped by Stop/Kill): same dir, identity,
// port and backend, bootstrapped to the running peers.
func (c *Cluster) Start(i int) *peer.Peer {
	c.t.Helper()
	nd := c.node(i)
	if c.Peer(i) != nil {
		c.t.Fatalf("testcluster: peer %d is already running", i)
	}
	c.startNode(nd)
	return c.Peer(i)
}

// Restart is Start for a peer that was stopped: a restart on the same dir, identity and port.
func (c *Cluster) Restart(i int) *peer.Peer {
	c.t.Helper()
	return c.Start(i)
}

// RestartAlone restarts a stopped peer without --bootstrap: it must find the cluster from
// its own peerstore file, as a daemon restarted after kill -9 without flags does.
func (c *Cluster) RestartAlone(i int) *peer.Peer {
	c.t.Helper()
	nd := c.node(i)
	if c.Peer(i) != nil {
		c.t.Fatalf("testcluster: peer %d is already running", i)
	}
	if err := c.tryStart(nd, false); err != nil {
		c.t.Fatalf("starting peer %d: %v", i, err)
	}
	return c.Peer(i)
}

// Stop closes peer i gracefully (Peer.Close with its host still up).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	p := c.take(i)
	if p == nil {
		return
	}
	if err := p.Close(); err != nil {
		c.t.Logf("testcluster: closing peer %d: %v", i, err)
	}
}

// take marks peer i stopped and returns the running peer (nil if it was not running).
func (c *Cluster) take(i int) *peer.Peer {
	nd := c.node(i)
	c.mu.Lock()
	defer c.mu.Unlock()
	p := nd.p
	nd.p = nil
	return p
}

func (c *Cluster) closeAll() {
	var wg sync.WaitGroup
	for _, nd := range c.snapshot() {
		if p := c.take(nd.i); p != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.Close()
			}()
		}
	}
	closed := make(chan struct{})
	go func() { wg.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(closeTimeout):
		// A hung close would otherwise hang the whole test binary until its -timeout, with
		// every later test's figures lost; its stacks name what blocks it.
		var b strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		c.t.Errorf("the peers did not close within %s; goroutines:\n%s", closeTimeout, b.String())
	}
	if c.t.Failed() {
		c.logs.dump(c.t)
	}
}

// closeTimeout bounds closeAll: closing a hundred peers takes seconds.
const closeTimeout = 3 * time.Minute
