package telemetry

import "github.com/prometheus/client_golang/prometheus"

// events holds the process-wide event metrics (see the package doc); every peer's endpoint
// serves them.
var events = prometheus.NewRegistry()

func register[C prometheus.Collector](c C) C {
	events.MustRegister(c)
	return c
}

// Event metrics. Each is incremented where the event happens.
var (
	// OpsCommitted counts the ops this peer's pinset actor committed that changed the pinset
	// (won their CID), by where they came from (local: this peer's API; remote: gossip, pulls).
	OpsCommitted = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pincluster_pinset_ops_committed_total",
		Help: "Ops committed that changed the pinset, by origin (local or remote).",
	}, []string{"origin"}))
	// CommitSize is the ops per group commit of the pinset actor.
	CommitSize = register(prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "pincluster_pinset_commit_ops",
		Help:    "Ops per group commit of the pinset actor.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 .. 65536
	}))
	// BatchesBroadcast and OpsBroadcast count batches published over pubsub and the
	// ops they carried; BatchSize is their distribution.
	BatchesBroadcast = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pincluster_batches_broadcast_total",
		Help: "Signed op batches published to the cluster.",
	}))
	OpsBroadcast = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pincluster_ops_broadcast_total",
		Help: "Ops published to the cluster in batches.",
	}))
	BatchSize = register(prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "pincluster_batch_size_ops",
		Help:    "Ops per published batch.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 9),
	}))
	// PinDuration is how long one pin or unpin attempt took on the IPFS node, by outcome.
	PinDuration = register(prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "pincluster_pin_duration_seconds",
		Help:    "Duration of pin and unpin attempts on the IPFS node, by op (pin, unpin) and result (ok, error).",
		Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"op", "result"}))
	// Pulls counts anti-entropy pulls by result (ok, error), and PulledOps and PulledBytes
	// what they brought.
	Pulls = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pincluster_antientropy_pulls_total",
		Help: "Anti-entropy pulls from other peers, by result (ok, error).",
	}, []string{"result"}))
	PulledOps = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pincluster_antientropy_ops_total",
		Help: "Ops and snapshot records received by anti-entropy pulls.",
	}))
	PulledBytes = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pincluster_antientropy_bytes_total",
		Help: "Encoded bytes of the ops and records received by anti-entropy pulls.",
	}))
	// CollectionPulls counts the pulls tombstone collection made to refresh a member's
	// version vector (the members whose announcements did not keep it current).
	CollectionPulls = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pincluster_collection_pulls_total",
		Help: "Pulls tombstone collection made to refresh a member's version vector (its announcements did not).",
	}))
	// Announcements counts the version vector announcements of other peers, by result:
	// current (the copy is now the announcer's vector), behind (the copy could not be brought
	// up to it: a lost announcement; a pull refreshes it), dropped (rate-limited).
	Announcements = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pincluster_version_announcements_total",
		Help: "Version vector announcements received, by result (current, behind, dropped).",
	}, []string{"result"}))
	// AlertsRaised counts alerts (a peer's metric expired), by metric name.
	AlertsRaised = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pincluster_alerts_total",
		Help: "Alerts raised (a peer's metric expired), by metric.",
	}, []string{"metric"}))
	// ActorRestarts counts restarts by the supervisor, by actor name.
	ActorRestarts = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pincluster_actor_restarts_total",
		Help: "Actors restarted by their supervisor after a failure, by actor.",
	}, []string{"actor"}))
)
