package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/ipfs/boxo/bitswap"
	"github.com/ipfs/boxo/bitswap/network/bsnet"
	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/ipld/merkledag"
	ipfspinner "github.com/ipfs/boxo/pinning/pinner"
	"github.com/ipfs/boxo/pinning/pinner/dspinner"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	format "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/connhold"
	"github.com/pincluster/pincluster/ipfs"
)

// DefaultAddGrace is how long the root of an Add or ImportCAR stays protected from GC while the
// caller pins it.
const DefaultAddGrace = time.Minute

// Config configures an embedded node.
type Config struct {
	// Dir is the node's directory (e.g. <configdir>/ipfs); created if missing.
	Dir string
	// SyncWrites makes Badger fsync each commit, for power-loss durability.
	SyncWrites bool
	// Host, when set, runs bitswap (client and server) on it: the node fetches blocks from, and
	// serves blocks to, peers connected to that host. When nil the node is offline and a Pin of
	// missing blocks fails at once. The caller owns the host and closes it after the Node.
	Host host.Host
	// Logger may be nil (logs are dropped).
	Logger *slog.Logger
	// StorageMax bounds the reported FreeSpace (0 = unlimited: the filesystem's free space).
	StorageMax uint64
	// AddGrace is how long added roots are protected from GC before being pinned (0 =
	// DefaultAddGrace, negative = no protection).
	AddGrace time.Duration
	// MinFreeSpace is the free space (bytes) the filesystem holding Dir keeps in reserve: below
	// it, storing blocks and pins fails with api.ErrInsufficientStorage (0 =
	// DefaultMinFreeSpace, negative = no check). See spaceGuard.
	MinFreeSpace int64
	// ResolveTimeout bounds the resolution of one /ipns/ name (0 = ipfs.DefaultResolveTimeout).
	ResolveTimeout time.Duration
	// Sources, when set with Host, names the peers likely to hold a CID's blocks; a pin dials
	// those it is not connected to before fetching (sources.go). It must be fast and safe for
	// concurrent use.
	Sources func(api.Cid) []peer.ID
}

// Node is an IPFS node inside the peer: a Badger blockstore and pinner, boxo's UnixFS importer
// and, with a libp2p host, bitswap. It implements ipfs.Backend.
type Node struct {
	cfg    Config
	log    *slog.Logger
	db     *badger.DB
	dstore *badgerDS
	bstore blockstore.Blockstore // guarded: records each access of an operation (gcguard.go)
	blocks blockstore.Blockstore // the same blocks unguarded; GC deletes through it

	bswap     *bitswap.Bitswap // nil when offline
	bserv     blockservice.BlockService
	dag       format.DAGService // online when a host is set
	localDAG  format.DAGService // never touches the network
	pinner    ipfspinner.Pinner
	offlineID peer.ID
	names     *naming // /ipns/ resolution (naming.go)

	// guard protects the blocks of operations in progress from GC; gcRunning serialises GCs.
	guard     gcGuard
	gcRunning chan struct{}
	recent    recentRoots
	stats     objectCounter
	fetches   connhold.Holds // the connections to fetches' sources, kept from trimming (sources.go)

	// lifecycle: begin admits an operation, Close cancels stop and waits for ops.
	life    sync.Mutex
	closed  bool
	ops     sync.WaitGroup
	stopCtx context.Context
	stop    context.CancelFunc
}

var _ ipfs.Backend = (*Node)(nil)

// identityKey stores the offline node's private key so its ID is stable across restarts.
var identityKey = ds.NewKey("/local/identity")

// New opens (or creates) the node in cfg.Dir.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: embedded ipfs: Dir is empty (set the node's directory)", api.ErrInvalid)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded ipfs: create %s: %w", cfg.Dir, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "ipfs-embedded")
	if cfg.AddGrace == 0 {
		cfg.AddGrace = DefaultAddGrace
	}
	db, err := openBadger(filepath.Join(cfg.Dir, "badger"), cfg.SyncWrites, log)
	if err != nil {
		return nil, err
	}
	if cfg.MinFreeSpace == 0 {
		cfg.MinFreeSpace = DefaultMinFreeSpace
	}
	space := spaceGuard{dir: cfg.Dir, min: uint64(max(cfg.MinFreeSpace, 0))}
	n := &Node{cfg: cfg, log: log, db: db, dstore: &badgerDS{db: db, space: space}, gcRunning: make(chan struct{}, 1)}
	n.stopCtx, n.stop = context.WithCancel(context.Background())
	n.recent.ttl = cfg.AddGrace
	n.blocks = blockstore.NewIdStore(blockstore.NewBlockstore(n.dstore))
	n.bstore = &guardedBlockstore{Blockstore: n.blocks, g: &n.guard}

	fail := func(err error) (*Node, error) {
		n.names.close()
		if n.bswap != nil {
			n.bswap.Close()
		}
		db.Close()
		return nil, err
	}
	if cfg.Host != nil {
		net := bsnet.NewFromIpfsHost(cfg.Host)
		// No content routing: wants are broadcast to connected peers.
		n.bswap = bitswap.New(n.stopCtx, net, nil, n.bstore)
		n.bserv = blockservice.New(n.bstore, n.bswap)
	} else {
		n.bserv = blockservice.New(n.bstore, nil)
		if n.offlineID, err = n.loadOfflineID(ctx); err != nil {
			return fail(err)
		}
	}
	if n.names, err = newNaming(cfg.Host); err != nil {
		return fail(err)
	}
	n.dag = merkledag.NewDAGService(n.bserv)
	n.localDAG = merkledag.NewDAGService(blockservice.New(n.bstore, nil))
	pinner, err := dspinner.New(ctx, n.dstore, n.localDAG)
	if err != nil {
		return fail(fmt.Errorf("embedded ipfs: load pins: %w", err))
	}
	n.pinner = pinner
	log.Info("embedded ipfs node open", "dir", cfg.Dir, "online", cfg.Host != nil)
	return n, nil
}

// loadOfflineID reads or creates the key that names an offline node.
func (n *Node) loadOfflineID(ctx context.Context) (peer.ID, error) {
	raw, err := n.dstore.Get(ctx, identityKey)
	if errors.Is(err, ds.ErrNotFound) {
		priv, _, gerr := crypto.GenerateEd25519Key(nil)
		if gerr != nil {
			return "", gerr
		}
		if raw, err = crypto.MarshalPrivateKey(priv); err != nil {
			return "", err
		}
		err = n.dstore.Put(ctx, identityKey, raw)
	}
	if err != nil {
		return "", fmt.Errorf("embedded ipfs: node identity: %w", err)
	}
	priv, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return "", fmt.Errorf("embedded ipfs: node identity in %s is corrupt: %w", n.cfg.Dir, err)
	}
	return peer.IDFromPrivateKey(priv)
}

// begin admits an operation: it returns a context cancelled by ctx or Close, and a done func the
// caller must defer. After Close it returns ipfs.ErrClosed. The context carries the
// operation's GC record: the blocks it uses through n.bstore are safe from a concurrent GC
// until done (and afterwards through the pin or the add grace it leaves).
func (n *Node) begin(ctx context.Context) (context.Context, func(), error) {
	return n.admit(ctx, true)
}

func (n *Node) admit(ctx context.Context, guarded bool) (context.Context, func(), error) {
	n.life.Lock()
	defer n.life.Unlock()
	if n.closed {
		return ctx, func() {}, ipfs.ErrClosed
	}
	n.ops.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(n.stopCtx, cancel)
	end := func() {}
	if guarded {
		ctx, end = n.guard.begin(ctx)
	}
	return ctx, func() { end(); stop(); cancel(); n.ops.Done() }, nil
}

// ID returns the host's peer ID and addresses, or the offline node's stable ID.
func (n *Node) ID(ctx context.Context) (api.IPFSID, error) {
	_, done, err := n.begin(ctx)
	if err != nil {
		return api.IPFSID{}, err
	}
	defer done()
	if h := n.cfg.Host; h != nil {
		id := api.IPFSID{ID: h.ID().String(), Addresses: []string{}}
		for _, a := range h.Addrs() {
			id.Addresses = append(id.Addresses, a.String()+"/p2p/"+h.ID().String())
		}
		return id, nil
	}
	return api.IPFSID{ID: n.offlineID.String(), Addresses: []string{}}, nil
}

// Close stops bitswap, waits for in-flight operations (cancelling them) and closes Badger. It is
// idempotent.
func (n *Node) Close() error {
	n.life.Lock()
	if n.closed {
		n.life.Unlock()
		return nil
	}
	n.closed = true
	n.stop()
	n.life.Unlock()

	n.ops.Wait()
	errs := []error{n.names.close()}
	if n.bswap != nil {
		errs = append(errs, n.bswap.Close())
	}
	errs = append(errs, n.pinner.Close())
	errs = append(errs, n.db.Close())
	n.log.Info("embedded ipfs node closed")
	return errors.Join(errs...)
}

// recentRoots protects just-added roots from GC until the caller has had time to pin them.
type recentRoots struct {
	mu    sync.Mutex
	ttl   time.Duration
	roots map[cid.Cid]time.Time
}

func (r *recentRoots) add(c cid.Cid) {
	if r.ttl < 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.roots == nil {
		r.roots = map[cid.Cid]time.Time{}
	}
	r.roots[c] = time.Now().Add(r.ttl)
}

// live returns the roots still protected and forgets the expired ones.
func (r *recentRoots) live() []cid.Cid {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	var out []cid.Cid
	for c, until := range r.roots {
		if now.After(until) {
			delete(r.roots, c)
			continue
		}
		out = append(out, c)
	}
	return out
}
