// Package faults lets a fault harness (chaos/, `make chaos`) inject faults into a running
// pincluster daemon: a network partition, clock skew, a full disk under the pinset store and a
// slow or failing IPFS backend. It is off unless the daemon's environment names a fault file:
//
//	PINCLUSTER_FAULTS=/tmp/chaos/p3/faults.json pincluster --config /tmp/chaos/p3 daemon
//
// The file holds one Config (JSON). The daemon reads it at start and again on every SIGUSR1, so
// the harness writes the file (atomically: write then rename) and signals; nothing polls:
//
//	{"block_peers": ["12D3Koo..."], "clock_skew": "-2m", "disk_full": true,
//	 "ipfs_delay": "5s", "ipfs_fail": false}
//
// The daemon (cli/service_daemon.go) turns a *Faults into peer.Options hooks:
//
//	f, err := faults.FromEnv(ctx, log)   // nil, nil when PINCLUSTER_FAULTS is unset
//	opts := peer.Options{ConnGater: f.Gater(), ClockSource: f.Now, WrapBackend: f.WrapBackend,
//	    StoreWriteFault: f.StoreWriteFault, OnHost: f.Attach}
//
// Decisions:
//   - A partition is a libp2p ConnectionGater that refuses dials to and secured connections from
//     the listed peers; on reload the existing connections to them are closed (through the host
//     handed to Attach). The harness blocks both sides, so neither end can redial.
//   - Clock skew shifts only the hybrid logical clock's time source (crdt.NewClock), not
//     timers or TTLs: it is the skew that can reorder last-writer-wins merges.
//   - Disk full makes every write of the pinset store fail with an error wrapping
//     syscall.ENOSPC before Badger is touched, so the on-disk state stays valid (as it would
//     when a real write fails and Badger rolls the transaction back).
//   - The IPFS fault delays and/or fails Pin and Unpin; other backend calls pass through.
//   - A file that cannot be read or parsed at a reload keeps the previous faults and logs the
//     error; at start it is an error (the harness wrote a bad file).
//   - With the variable unset FromEnv returns nil and the daemon passes no hooks: no cost.
package faults
