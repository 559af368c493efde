// Package impair is a network impairment layer for test networks: it adds delay, jitter and
// loss to the TCP streams and UDP datagrams it relays. It exists because the kernel of the
// machine the namespace cluster (scripts/netns-cluster.sh, docs/netns.md) was built on has no
// netem qdisc; where netem exists the script uses it instead, and this package is not in the
// path. Nothing in the pincluster daemon imports it: cmd/netimpair runs it between the hosts.
//
// # What it models
//
// A Link is one direction of a path: every unit that crosses it waits Delay plus a uniform
// jitter in [-Jitter, +Jitter] (never below zero), and is lost with probability Loss.
//
//   - UDP: a datagram is a unit. A lost one is dropped; the others are delivered each after its
//     own delay, so jitter reorders them, as netem does.
//   - TCP: the relay terminates TCP on both sides and carries bytes, so a "segment" is what
//     the kernel's TCP would have sent: a chunk read from the source counts as
//     ceil(n/MSS) segments, each lost with probability Loss. A chunk with a lost segment is
//     delivered one retransmission timeout late (RTO = 200 ms, Linux's minimum, plus one
//     round trip); a retransmission is lost again with probability Loss and then waits twice
//     as long, as TCP's backoff does. Chunks of one stream leave in order, so a late chunk
//     holds back the chunks behind it (head-of-line blocking). Fast retransmit, congestion
//     windows and bandwidth limits are not modelled: loss costs at least what it costs a
//     small message (the cluster's gossip and RPCs), and more than it costs a bulk transfer.
//   - Back pressure: each direction of a stream holds at most QueueChunks chunks in flight;
//     past that the relay stops reading, so a slow reader slows the writer as a full TCP
//     window would.
//
// # Randomness
//
// Every decision comes from a math/rand/v2 PCG seeded from the relay's seed and the stream's
// or datagram flow's sequence number, so a run's decisions per stream are reproducible even
// though the timing of a real network run is not. The tests check the statistics with fixed
// seeds and assert no wall-clock speed, only that a unit waited at least its delay.
//
// # Concurrency
//
// This is a tool, not part of the daemon's actor tree: each relayed TCP direction has a
// reader goroutine (reads, stamps a due time, queues) and a writer goroutine (waits for the
// due time on a timer, writes); a UDP flow has one reader per socket and a timer per
// datagram. All of them end when either side closes or the relay's context ends.
package impair
