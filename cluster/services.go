package cluster

import (
	"errors"
	"log/slog"
	"time"
)

// Config is the part of the peer's configuration the services read.
type Config struct {
	// ReplicationFactorMin and Max are the cluster defaults (cluster.replication_factor_*),
	// valid under api.CheckReplication.
	ReplicationFactorMin, ReplicationFactorMax int
	// ConcurrentPins bounds how many recoveries run at once (pin_tracker.concurrent_pins).
	ConcurrentPins int
	// Version is pincluster's version (GET /version, IDs).
	Version string
	// Peername is cluster.peername (IDs).
	Peername string
	// Follower is cluster.follower_mode: the services refuse writes (follower.go).
	Follower bool
	// DigestTTL is how old a replica of a peer's status digest may be and still be shown
	// (the ping TTL: 2 x cluster.monitor_ping_interval); older, the peer is cluster_error.
	DigestTTL time.Duration
}

// Deps are the services' dependencies (contracts.go). Every field is required but Blocks.
type Deps struct {
	Config    Config
	Store     PinStore
	Pinset    Committer
	Gates     []Gate // refuse a pin before anything is stored, in order
	Allocator Allocator
	Tracker   Tracker
	Members   Members
	Remote    Caller
	IPFS      IPFS
	Metrics   Metrics
	Node      Node
	Log       *slog.Logger
	// Blocks streams a cluster add's blocks to its allocations (optional: nil keeps every
	// add local, add_contracts.go).
	Blocks BlockPusher
	// Digests is the replica of the other peers' status digests (optional: nil answers
	// global status with a fan-out, digeststatus.go).
	Digests DigestReplica
	// Applied answers other members asking which of an origin's ops this peer stores
	// (optional: nil answers with an error; replicated.go).
	Applied AppliedWaiter
	// Resync asks for a state sync soon (optional): recover-all's way to the pins the IPFS node
	// lost (StatusService.RecoverAllLocal).
	Resync func()
}

func (d Deps) check() error {
	if d.Store == nil || d.Pinset == nil || d.Allocator == nil || d.Tracker == nil || d.Members == nil ||
		d.Remote == nil || d.IPFS == nil || d.Metrics == nil || d.Node == nil {
		return errors.New("cluster: incomplete Deps")
	}
	return nil
}

// Services are the request-facing services of one peer. The REST server takes each as the
// small interface it needs (api/rest/cluster.go); in-process callers use the promoted methods.
type Services struct {
	*PinService
	*AddService
	*StatusService
	*PeerService
	*HealthService
}

// New builds the services of one peer.
func New(d Deps) (*Services, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Config.ConcurrentPins <= 0 {
		d.Config.ConcurrentPins = 1
	}
	f := &fanout{remote: d.Remote, members: d.Members}
	st := &StatusService{d: d, fan: f}
	pins := &PinService{d: d}
	return &Services{
		PinService:    pins,
		AddService:    &AddService{d: d, pins: pins, status: st},
		StatusService: st,
		PeerService:   &PeerService{d: d, fan: f},
		HealthService: &HealthService{d: d, fan: f},
	}, nil
}

func nowUTC() time.Time { return time.Now().UTC() }
