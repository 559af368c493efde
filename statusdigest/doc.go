// Package statusdigest is the data of the replicated status digests: what each peer publishes
// about its own allocations so that every other peer answers a global `status` from a local
// replica in O(pins x allocations) Badger reads, with no network, instead of asking every peer
// about every pin (issue 12, item 1).
//
// # Decisions
//
//   - An Entry is one CID's tracker status on its publisher (status, timestamp, error, attempt
//     count, priority flag) and the sequence number of the delta that last changed it. Only
//     CIDs allocated to the publisher have entries; a CID that leaves it (unpinned, no longer
//     allocated) is a tombstone (Status 0) in the delta that says so.
//   - Versions: a publisher numbers its deltas 1, 2, 3... within an epoch (random, chosen when
//     its own digest is created; a lost store starts a new epoch, and so does a state moved back
//     from a backup of the current one: offlinestate.OwnDigestEpochFile). A replica refuses the
//     epochs it left for RetiredWindow (a late message of the publisher's previous life would
//     drop the replica and force a whole pull). Deltas batch the tracker's
//     changes (every Interval or MaxEntries, whichever comes first); a heartbeat (a digest
//     with no entries) repeats the current seq every ping interval, so a replica knows both
//     that the publisher is alive and whether it missed a delta.
//   - Merge: last writer wins per entry by seq (Entry.Seq), tombstones included, so deltas
//     apply in any order. A replica tracks the contiguous seq it applied (Meta); a gap, or a
//     heartbeat ahead of it, makes it pull the publisher's whole digest page by page (paged by
//     binary CID, never the whole set in memory). A pull marks what it brought with a fresh
//     generation; when it ends at version S (the publisher's seq when the first page was
//     read), entries older than S that the pull did not bring are gone at the publisher and
//     are swept, and S becomes the replica's floor: a delta at or below it is already in.
//     This is the property the replica test checks: after any order of deltas and pulls,
//     the replica equals the publisher's own digest.
//   - Freshness: Meta.Updated is when the replica was last known current (a delta or a
//     heartbeat at the replica's seq); global status shows it as each peer's `updated`. A
//     replica whose Updated is older than the ping TTL is stale: global status shows its
//     peer as cluster_error with the age, never as current. A replica behind its publisher
//     (a pull under way) keeps its last Updated, so it turns stale if the pull does not end.
//   - A member that never published a digest (an earlier version during a rolling upgrade, a
//     follower outside trusted_peers) makes global status ask every member, as --fresh does
//     (cluster/digeststatus.go), rather than show it failing.
//   - The digest holds the tracker's statuses, not the IPFS node's pin list: a pin the node
//     loses without the tracker knowing is tracked again by the publisher's next state sync
//     (state_sync_interval), and the digest shows the tracker's statuses from then on
//     (actors/statusdigest: a reconcile follows on the next tick when it was queued beyond
//     the tracker's window).
//   - A heartbeat may carry its publisher's version vector announcement (Digest.Versions,
//     versions.go), which has nothing to do with the digest: it rides on the heartbeat so as
//     to cost no message of its own (actors/syncer/announced.go says what it is for).
//   - A heartbeat tells its publisher's peername and IPFS peer ID too (identity.go); the
//     replica keeps the last ones told (Meta), and global status shows them for the peer.
//   - Bounds: a message is at most MaxMessage bytes and MaxEntries entries; an error text at
//     most MaxErrorLen; an announcement at most MaxVersionEntries entries; a peername at most
//     MaxPeernameBytes. Decode checks everything (the CID, a single known status, the sizes,
//     the announcement's sum and origins, the peername's UTF-8, the IPFS peer ID, none of
//     these three in a delta) and fails the whole message on any bad entry.
package statusdigest
