// Package telemetry exports a peer's Prometheus metrics on observations.metrics'
// prometheus_endpoint (off unless enable_stats, as in IPFS Cluster; `daemon --stats` turns it
// on).
//
// Two kinds of metrics, for two reasons:
//   - Events (ops committed, batches broadcast, pin durations, anti-entropy pulls, actor
//     restarts) are counters and histograms declared here as package variables, which the
//     actors increment where the event happens: an atomic add, no message, no lock. They are
//     process-wide; a production process runs one peer (in-process test clusters share them).
//   - State (pins in the pinset and on this peer by status, queue depths, members, alerts,
//     Badger's size) is read when Prometheus scrapes, through the functions the peer hands to
//     New (Sources), and cached for reporting_interval, so a scrape every second costs one read
//     per interval however large the pinset is. Nothing is pushed: IPFS Cluster's
//     reporting_interval (how often OpenCensus exported) is this cache's lifetime here.
//
// Names: IPFS Cluster's where it has one (its OpenCensus exporter's ipfscluster_ namespace:
// ipfscluster_cluster_pin_count, ipfscluster_pintracker_pinned_count, ...), so its dashboards
// keep working; pincluster_ for the rest. Go runtime and process metrics come from
// client_golang's collectors. docs/grafana-dashboard.json charts them.
package telemetry
