package config

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/pincluster/pincluster/api"
)

// Cluster is the "cluster" section: identity of the cluster and peer-level intervals.
type Cluster struct {
	Peername             string   `json:"peername"`
	Secret               string   `json:"secret"`
	ListenMultiaddress   []string `json:"listen_multiaddress"`
	ReplicationFactorMin int      `json:"replication_factor_min"`
	ReplicationFactorMax int      `json:"replication_factor_max"`
	StateSyncInterval    Duration `json:"state_sync_interval"`
	PinRecoverInterval   Duration `json:"pin_recover_interval"`
	DisableRepinning     bool     `json:"disable_repinning"`
	MonitorPingInterval  Duration `json:"monitor_ping_interval"`
	// LeaveOnShutdown: on a clean shutdown (SIGINT/SIGTERM) the peer removes itself from the
	// cluster as `peers rm <its id>` would, waits (up to peer.LeaveTimeout) until the other
	// members no longer list it, then stops and moves its state to backups/ as a removed peer
	// does. A removed identity is refused for good, so bringing that machine back needs what
	// a peer removed with peers rm needs: a new identity (`pincluster init -f`) and
	// --bootstrap. A peer that is alone stays (nothing to leave); kill -9 or a crash never
	// leaves. IPFS Cluster's key and default (false).
	LeaveOnShutdown bool `json:"leave_on_shutdown,omitempty"`
	// FollowerMode makes this peer a follower (see package cluster and `pincluster follow`):
	// it replicates the pinset and pins what it is allocated, refuses pin, unpin, add, batch
	// ingest and peers rm with an error saying it is a follower, never repins or unpins expired
	// pins, and advertises itself as a follower so that trusted peers allocate to it only when
	// asked to (user allocations, or replication -1: every peer). It does not make the
	// follower untrusted: the trusted peers' consensus.crdt.trusted_peers must leave it out.
	// IPFS Cluster's key and default (false); `pincluster follow NAME run` sets it.
	FollowerMode bool `json:"follower_mode,omitempty"`
	// ConnectionManager bounds the peer's libp2p connections (IPFS Cluster's key, defaults and
	// meaning; see ConnMgr).
	ConnectionManager ConnMgr `json:"connection_manager"`
	// IPFS Cluster's peer_watch_interval is not read at all (membership changes arrive as
	// events): a file that sets it gets an unknown-key error naming it.
}

// DefaultCluster has IPFS Cluster's defaults, a fresh random secret and the host name.
func DefaultCluster() Cluster {
	name, _ := os.Hostname()
	if name == "" {
		name = "pincluster"
	}
	return Cluster{
		Peername:             name,
		Secret:               NewSecret(),
		ListenMultiaddress:   []string{"/ip4/0.0.0.0/tcp/9096"},
		ReplicationFactorMin: -1,
		ReplicationFactorMax: -1,
		StateSyncInterval:    Duration(5 * time.Minute),
		PinRecoverInterval:   Duration(12 * time.Minute),
		// Self-healing is on by default (IPFS Cluster defaults to true, i.e. off): a peer that
		// dies has its under-replicated pins moved, which is what operators ask of a cluster.
		DisableRepinning:    false,
		MonitorPingInterval: Duration(15 * time.Second),
		ConnectionManager:   DefaultConnMgr(),
	}
}

// ConnMgr is "cluster.connection_manager": how many connections a peer keeps.
//
// Up to LowWater+1 members the cluster is a full mesh, as it always was. In a larger cluster
// each peer chooses links to about LowWater+2 members, so that both ends of a pair agree and
// the links make one connected graph (package membership); gossip reaches everyone through
// them, and calls to a member outside them dial it on demand. When a peer holds more than
// HighWater connections, libp2p's connection manager closes the least useful ones until
// LowWater remain besides those it spares: the links, gossipsub's mesh peers, transfers in
// progress and connections younger than GracePeriod. Below HighWater nothing is closed, so
// connections dialled on demand (tombstone collection calls every member each
// state_sync_interval) stay: a cluster of fewer than HighWater peers ends up about a full
// mesh, and the bound shows beyond it.
type ConnMgr struct {
	HighWater   int      `json:"high_water"`
	LowWater    int      `json:"low_water"`
	GracePeriod Duration `json:"grace_period"`
}

// DefaultConnMgr has IPFS Cluster's defaults.
func DefaultConnMgr() ConnMgr {
	return ConnMgr{HighWater: 400, LowWater: 100, GracePeriod: Duration(2 * time.Minute)}
}

// Validate names the offending key.
func (c ConnMgr) Validate() error {
	if c.LowWater < 1 {
		return fmt.Errorf("cluster.connection_manager.low_water: must be at least 1, got %d", c.LowWater)
	}
	if c.HighWater < c.LowWater {
		return fmt.Errorf("cluster.connection_manager.high_water (%d): must be at least low_water (%d)", c.HighWater, c.LowWater)
	}
	if c.GracePeriod <= 0 {
		// Connections dialled on demand (a call to a member outside the links) rely on it
		// to outlive the call.
		return fmt.Errorf("cluster.connection_manager.grace_period: must be a positive duration (how long a new connection is spared), got %s", c.GracePeriod.D())
	}
	return nil
}

// NewSecret returns 32 random bytes, hex encoded.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// SecretBytes decodes the secret.
func (c Cluster) SecretBytes() ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(c.Secret))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("cluster.secret: must be 32 bytes written as 64 hex characters (generate one with: head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')")
	}
	return b, nil
}

// Validate names the offending key.
func (c Cluster) Validate() error {
	if strings.TrimSpace(c.Peername) == "" {
		return fmt.Errorf("cluster.peername: must not be empty")
	}
	if _, err := c.SecretBytes(); err != nil {
		return err
	}
	if len(c.ListenMultiaddress) == 0 {
		return fmt.Errorf("cluster.listen_multiaddress: needs at least one multiaddress")
	}
	for _, a := range c.ListenMultiaddress {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return fmt.Errorf("cluster.listen_multiaddress: %q is not a multiaddress: %v", a, err)
		}
	}
	if err := c.checkReplication(); err != nil {
		return err
	}
	if err := c.ConnectionManager.Validate(); err != nil {
		return err
	}
	for key, d := range map[string]Duration{"state_sync_interval": c.StateSyncInterval, "pin_recover_interval": c.PinRecoverInterval,
		"monitor_ping_interval": c.MonitorPingInterval} {
		if d <= 0 {
			return fmt.Errorf("cluster.%s: must be a positive duration, got %s", key, d.D())
		}
	}
	return nil
}

// checkReplication checks the default replication factors by the rule every pin follows
// (api.CheckReplication). 0 is the one value a pin may hold and a default may not: it means
// "use the default".
func (c Cluster) checkReplication() error {
	n := api.FactorNames{Min: "cluster.replication_factor_min", Max: "cluster.replication_factor_max"}
	if c.ReplicationFactorMin == 0 {
		return fmt.Errorf("%s (0) must be -1 (every peer) or positive: 0 means \"use the default\" on a pin", n.Min)
	}
	if c.ReplicationFactorMax == 0 {
		return fmt.Errorf("%s (0) must be -1 (every peer) or positive: 0 means \"use the default\" on a pin", n.Max)
	}
	return api.CheckReplication(c.ReplicationFactorMin, c.ReplicationFactorMax, n)
}

// Batching controls how local ops are grouped before broadcast.
type Batching struct {
	MaxBatchSize int      `json:"max_batch_size"`
	MaxBatchAge  Duration `json:"max_batch_age"`
	MaxQueueSize int      `json:"max_queue_size"`
}

// CRDT is the "consensus.crdt" section: the replicated pinset.
type CRDT struct {
	ClusterName         string   `json:"cluster_name"`
	TrustedPeers        []string `json:"trusted_peers"`
	Batching            Batching `json:"batching"`
	RebroadcastInterval Duration `json:"rebroadcast_interval"`
	// AbsentPeerHorizon: how long a member may go unheard before tombstone collection stops
	// waiting for it. A peer back after longer rejoins through a snapshot.
	AbsentPeerHorizon Duration `json:"absent_peer_horizon"`
}

// DefaultCRDT: batching on (256 ops or 200 ms), as acknowledged ops are durable before they are
// batched, so batching costs no safety here (unlike the reference).
func DefaultCRDT() CRDT {
	return CRDT{
		ClusterName:         "pincluster",
		TrustedPeers:        []string{"*"},
		Batching:            Batching{MaxBatchSize: 256, MaxBatchAge: Duration(200 * time.Millisecond), MaxQueueSize: 50000},
		RebroadcastInterval: Duration(10 * time.Second), // anti-entropy round; cheap when nothing is missing
		AbsentPeerHorizon:   Duration(24 * time.Hour),
	}
}

func (c CRDT) Validate() error {
	if strings.TrimSpace(c.ClusterName) == "" {
		return fmt.Errorf("consensus.crdt.cluster_name: must not be empty")
	}
	if c.Batching.MaxBatchSize < 0 || c.Batching.MaxBatchAge < 0 {
		return fmt.Errorf("consensus.crdt.batching: max_batch_size and max_batch_age must be >= 0 (both > 0 enables batching)")
	}
	if c.Batching.MaxQueueSize <= 0 {
		return fmt.Errorf("consensus.crdt.batching.max_queue_size: must be > 0")
	}
	if c.RebroadcastInterval <= 0 {
		return fmt.Errorf("consensus.crdt.rebroadcast_interval: must be a positive duration")
	}
	if c.AbsentPeerHorizon <= 0 {
		return fmt.Errorf("consensus.crdt.absent_peer_horizon: must be a positive duration (how long tombstones wait for a silent peer)")
	}
	for i, t := range c.TrustedPeers {
		// A typo would trust nobody but this peer, and every other peer's ops would be
		// refused without a word.
		if t == "*" {
			continue
		}
		if _, err := peer.Decode(t); err != nil {
			return fmt.Errorf("consensus.crdt.trusted_peers[%d]: %q is neither \"*\" nor a peer ID: %v", i, t, err)
		}
	}
	return nil
}

// Datastore is the "datastore" section: the pinset's Badger store.
type Datastore struct {
	// SyncWrites fsyncs each group commit, so an acknowledged pin survives power loss too (a
	// process crash never loses one either way).
	SyncWrites bool `json:"sync_writes"`
	// MinFreeSpace is the free disk space, in bytes, that the pinset store and the embedded IPFS
	// node keep in reserve (0: 64 MiB). Below it they refuse writes (HTTP 507, pin_error)
	// instead of writing on: Badger writes through memory-mapped files, and a write that finds
	// the disk full kills the process. Raise it when other programs fill the same disk faster
	// than an operator reacts; it cannot be turned off.
	MinFreeSpace uint64 `json:"min_free_space"`
}

// maxMinFreeSpace bounds datastore.min_free_space to what the stores' signed sizes hold.
const maxMinFreeSpace = 1 << 62

func (c Datastore) Validate() error {
	if c.MinFreeSpace != 0 && c.MinFreeSpace < 1<<20 {
		return fmt.Errorf("datastore.min_free_space: %d bytes is less than 1 MiB (0 for the default, 64 MiB)", c.MinFreeSpace)
	}
	if c.MinFreeSpace > maxMinFreeSpace {
		return fmt.Errorf("datastore.min_free_space: %d bytes is more than any disk holds (at most %d)", c.MinFreeSpace, uint64(maxMinFreeSpace))
	}
	return nil
}

// IPFS is the "ipfs_connector" section. NodeMultiaddress and IPFSRequestTimeout are the kubo
// backend's (its RPC API and the bound of each call to it); the embedded node is in-process
// and has neither.
type IPFS struct {
	Backend            string   `json:"backend"` // embedded | kubo
	NodeMultiaddress   string   `json:"node_multiaddress"`
	PinTimeout         Duration `json:"pin_timeout"`
	UnpinTimeout       Duration `json:"unpin_timeout"`
	IPFSRequestTimeout Duration `json:"ipfs_request_timeout"`
	// StorageMax bounds the embedded node's repo, in bytes (0: the disk's free space), as
	// Kubo's Datastore.StorageMax does: the freespace metric reports StorageMax minus the repo
	// size, so allocations (and a sharded add's placement) stop choosing a full peer.
	StorageMax uint64 `json:"storage_max"`
}

func DefaultIPFS() IPFS {
	return IPFS{Backend: "embedded", NodeMultiaddress: "/ip4/127.0.0.1/tcp/5001",
		PinTimeout: Duration(2 * time.Minute), UnpinTimeout: Duration(3 * time.Hour), IPFSRequestTimeout: Duration(5 * time.Minute)}
}

func (c IPFS) Validate() error {
	switch c.Backend {
	case "embedded":
	case "kubo":
		if c.NodeMultiaddress == "" {
			return fmt.Errorf("ipfs_connector.node_multiaddress: empty; the kubo backend needs Kubo's RPC API address (e.g. /ip4/127.0.0.1/tcp/5001)")
		}
	default:
		return fmt.Errorf("ipfs_connector.backend: unknown backend %q (use embedded or kubo)", c.Backend)
	}
	if c.PinTimeout <= 0 || c.UnpinTimeout <= 0 || c.IPFSRequestTimeout <= 0 {
		return fmt.Errorf("ipfs_connector: pin_timeout, unpin_timeout and ipfs_request_timeout must be positive durations")
	}
	return nil
}
