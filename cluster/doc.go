// Package cluster holds the request-facing services of a pincluster peer: pins (pin, unpin,
// update, path pins, listing), add, status and recover, peers (id, peers ls/rm, the connect
// graph), health (metrics, alerts, IPFS gc) and the handlers of other peers' RPC requests.
// The REST API and the in-process harness call them; peer/ builds them and runs nothing else
// of a request.
//
// Decisions made here:
//   - Every dependency is a small interface declared in contracts.go and handed over in a Deps
//     struct (as raft's fsm.go and IPFS Cluster's component interfaces do); the services import
//     no actor, store or transport package, so their tests use fakes and peer/ adapts the
//     facades.
//   - One fan-out helper (fanout.go) asks members concurrently and hands each answer, or the
//     failure, to the caller; status, status all, recover, recover all, ipfs gc and peers ls use
//     it, and a member that does not answer shows cluster_error (or its error) instead of being
//     hidden.
//   - Pin options are checked once, by api.PinOptions.Validate after ApplyDefaults, before the
//     admission gates and the allocator; a bad option stores nothing.
//   - Global status asks each member for a page of CIDs at a time (StatusRequest), so a listing
//     holds one page in memory whatever the pinset's size.
//   - Local status of the whole pinset (status --local, the RPC of a global listing answers per
//     page instead) merges three streams without asking the IPFS node per pin: the pinset in key
//     order from Badger, the tracker's in-flight items (the first 64k statuses kept whole, the
//     rest of a large durable queue as fingerprints, asked of the tracker when met) and one pin
//     ls of the IPFS node, held as a hash set of 8-byte CID fingerprints (11-21 bytes per pin the
//     node holds, internal/cidset; the in-flight set, sized by the queue, 12), for the length
//     of the listing. A fingerprint collision could show a CID as pinned that is not; at 64
//     bits it is far below any other error rate of the system.
//   - Followers (cluster.follower_mode) refuse their own writes here, in the services, so every
//     API is covered by one check; trust stays the trusted peers' guard. The decisions are in
//     follower.go. Leaving on shutdown (leave.go) is peers rm of this peer, confirmed by asking
//     the other members whether they still list it.
//   - The JSON lines of status --local are spliced from the stored pin's bytes (pinjson.go
//     slices the fields without decoding them, and checks that each copied span is valid
//     JSON), so the listing allocates nothing per pin beyond its line; a record that does not
//     scan is decoded the slow way.
package cluster
