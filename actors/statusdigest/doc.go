// Package statusdigest is the status digest actor: it publishes this peer's status digest and
// keeps the replica of every other peer's, so that global status is a local query (the data,
// its versions and the merge rule are package statusdigest's; the replica is persistence's
// sr*/ keys: an overlay and packs, folded by persistence.ApplyDigest as it sees fit).
//
// # What it does
//
//   - Publishing: the tracker tells it of every status change by message
//     (messages.TrackerStatusChanged, a bounded batch per tracker message). It buffers them
//     and every FlushEvery (or at statusdigest.MaxEntries) stores them as this peer's own
//     digest (persistence.WriteOwnDigest: only what differs, at the next seq) and publishes
//     the delta on <cluster_name>/status. Every Heartbeat it publishes its version alone: the
//     last one it published (never a delta still on its way, which would make the others pull
//     for nothing), beside the writer (a long reconcile must not make the peer look silent).
//     A heartbeat carries the peer's version vector announcement too (Deps.Versions: the
//     changes since the last heartbeat's, crdt.Announce), for the others' tombstone
//     collection (actors/syncer/announced.go); it goes without one when the vector has more
//     than statusdigest.MaxVersionEntries origins (more would not fit the message). It tells
//     the peer's peername and IPFS peer ID too (Deps.Identity), which the others' global
//     status shows.
//   - Reconciling: it compares the own digest with a local status pass (the pinset, the
//     tracker's in-flight items, one pin ls of the IPFS node, in CID order, merge-joined
//     with the own entries) and publishes the differences: pins that settled without a
//     tracker event (a restart, an upgrade) and changes lost (dropped when the buffer was
//     full, or not stored). It runs at start, after lost changes, and on a Resync tick when
//     the tracker queued operations without telling their change since the last one (CIDs
//     beyond its window, and batch entries but for CIDs whose change found no record of
//     them: Deps.Unnoted), when the last one did not settle everything (an error, or the
//     IPFS node did not answer), or else every 6th tick (reconcileEvery). Between them the
//     tracker's changes keep the digest current: a pin the IPFS node lost is tracked again by
//     the healer's state sync, every Resync.
//   - Serving pulls: messages.StatusDigestPullRequest answers a page of the own digest.
//   - Replicas: the gossip actor's reader hands it the digests of trusted peers (Received);
//     it rate-limits each peer (a token bucket; the excess is dropped and logged, and the gap
//     it leaves makes a pull later), applies them in batches in a worker
//     (persistence.ApplyDigest for a heartbeat, ApplyDeltas for a peer's deltas, which wait
//     coalesced into one statusdigest.Run while the worker is busy; both also fold a replica
//     that grew or stayed quiet between two heartbeats into packs) and, for a replica left
//     behind (a gap, a heartbeat ahead, a new epoch), pulls the peer's whole digest page by
//     page, one pull at a time.
//   - A removed peer (peers rm, told by the roster as messages.PeerRemoved): its queued
//     digests are dropped, later ones are not taken, and the applier deletes its replica after
//     whatever of it was being applied (so nothing writes it back); a pull of it that was
//     running when it was removed is followed by another delete.
//
// # Concurrency
//
// One actor; all Badger work runs in workers that report back by message: at most one
// writer of the own digest (a delta, or a batch of a reconcile: so deltas are published in seq
// order), one reconcile (its worker hands its batches to the writer one at a time, so the
// tracker's deltas go on between them while it waits for its turn or the IPFS node), one
// heartbeat, one applier of received digests, one pull, and goroutines answering pulls
// (reads).
// Timers are scheduled messages (actors/timer). A restarted instance rebuilds from Badger:
// the own digest and its version are durable; changes buffered in memory are lost, and the
// reconcile that runs at start puts them back.
package statusdigest
