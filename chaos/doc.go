// Command chaos is pincluster's fault harness (`make chaos`): it runs N real daemons on
// loopback, sends pins and unpins while a seeded nemesis injects faults, heals everything and
// checks that no acknowledged op was lost.
//
//	go build -o bin/pincluster ./cmd/pincluster
//	go run ./chaos -seed 42 -peers 5 -duration 10m
//
// # Cluster
//
// Each peer is `pincluster init --randomports` in its own dir under a temp work dir, with one
// CLUSTER_SECRET, the cluster listener moved to 127.0.0.1, and shorter intervals so faults
// show and heal within seconds (monitor_ping_interval 2s, metric_ttl 6s, check_interval 1s,
// pin_recover_interval 20s, state_sync_interval 30s, which also paces tombstone collection, so
// it runs several times even in a short run). Peer 1 starts plain; the others with
// --bootstrap to it. Every daemon runs with PINCLUSTER_FAULTS=<dir>/faults.json
// (internal/faults), in its own process group, killed if the harness dies.
//
// # Load
//
// Up to -workers concurrent requests at most -rate ops/s, each to a random running peer, with
// a 10 s timeout: a pin of a fresh CID (replication -1, every peer) or, with probability 0.35,
// an unpin of a CID whose pin was acknowledged. A CID is pinned once, never re-pinned, and
// unpinned only after its pin's ack; an unpin refused with 404 (that peer has not received the
// pin yet) may be retried later. The CIDs are identity CIDs (raw codec, identity multihash):
// every IPFS node has their block without fetching, so pinning completes and a pin stuck in
// "pinning" is the cluster's fault, not missing content. Every op is logged to ops.jsonl with
// time, peer, latency and outcome: acknowledged (200), refused (connection refused, 400 or
// 404: nothing written) or maybe (timeout, reset, 5xx: it may or may not have been applied).
//
// # Nemesis
//
// A seeded RNG (-seed; printed, so a run can be repeated) picks every 2-6 s a fault, a peer
// and a duration of 3-15 s; a fault is skipped when the peer is already faulted or down, or
// when a minority ((N-1)/2 peers) is already faulted. Faults:
//   - kill: SIGKILL, then restart on the same dir, half the time with --bootstrap to another
//     peer and otherwise without, so the daemon must rejoin through its saved peerstore;
//   - pause: SIGSTOP, then SIGCONT;
//   - partition: the peer blocks every other peer and they block it (connection gater, and
//     open connections closed);
//   - skew: the peer's HLC time source is shifted by ±10 s..5 min;
//   - disk-full: every pinset store write fails with ENOSPC;
//   - ipfs-slow / ipfs-fail: the IPFS backend delays (1-10 s) or fails every pin and unpin.
//
// -faults restricts the kinds (e.g. -faults pause,skew,disk-full), to tell which fault causes
// a failure. Fault changes are written to the peer's fault file and announced with SIGUSR1. The schedule
// (kinds, peers, durations, parameters) follows from the seed; how it interleaves with the
// load depends on timing, so two runs with one seed are alike, not identical. faults.jsonl
// lists what was injected.
//
// # Heal and check
//
// When the load stops, every fault is healed (fault files cleared, paused peers resumed, dead
// peers restarted) and the checker observes the cluster every second for up to
// -converge-timeout (120 s):
//   - each peer's pinset (GET /allocations) against the op log (see Expected): an
//     acknowledged pin with no unpin that may have applied must be on every peer (else lost);
//     an acknowledged unpin must be on none (else resurrected); a CID decided by a maybe op may
//     be present or absent, but the same on every peer (else diverged); a refused pin or a CID
//     the harness never sent must be on none (phantom). Since a CID is pinned once and unpinned
//     only where its pin is known, ops never conflict and last-writer-wins needs no clocks;
//   - each peer's GET /peers lists every peer, answering (else isolated).
//
// Time to converge is from the end of the heal to the first observation that passes. Then,
// for up to -settle-timeout (60 s), each peer's local status (GET /pins?local=true) must show
// nothing queued, pinning or unpinning: with the faults gone and identity CIDs, whatever is
// still in flight then has no attempt making progress (stuck).
//
// # Report
//
// Seed, ops acknowledged/maybe/refused, faults injected, lost, resurrected, diverged,
// phantom, diverged and isolated peers, time to converge, stuck pins, other statuses (errors),
// daemon crashes (exits the harness did not cause) and each peer's peak RSS (VmHWM, sampled
// before every kill and at the end). The exit code is 1 when anything was lost, resurrected,
// diverged or phantom, the cluster did not converge, a peer stayed isolated, a pin stayed in
// flight, a daemon crashed or a fault could not be healed; 2 when the harness could not run.
// report.json in the work dir holds every finding; the work dir is removed after a pass
// unless -keep or -dir.
//
// The harness is not part of `go test ./...` (it needs the built binary and minutes); its
// checker is pure logic with a table test (checker_test.go).
package main
