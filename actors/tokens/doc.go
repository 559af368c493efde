// Package tokens keeps the cluster's bearer-token records (api.TokenRecord: a token's id and
// metadata, never the token) in step on every peer, so that `token ls` on any peer lists the
// tokens every peer issued and a token revoked on one peer is refused by all of them, also
// after restarts and by a peer that was down when the revocation was made.
//
// # Usage
//
//	reg, _ := tokens.Spawn(root, tokens.Deps{Self: id, Store: store, Topic: topics, Remote: rem, Members: roster}, log)
//	reg.Record(ctx, rec)           // the REST API issued a token: store it, gossip it
//	rec, err := reg.Revoke(ctx, id) // api.ErrNotFound for an unknown id; idempotent
//	revoked, _ := reg.Revoked(id)   // every authenticated request: one Badger read
//	reg.Merge(from, recs)           // the gossip reader (never blocks)
//	reg.PullFrom(peer)              // a new connection (never blocks)
//
// # Decisions
//
//   - Records are a join semilattice (api.MergeTokenRecords: issue metadata kept, revocation
//     sticky), so any order and any duplication of gossip messages and pulls converge, and the
//     writers need no single owner: the REST API's issue and revoke write the store from their
//     request goroutine, the actor's worker writes what gossip and pulls bring
//     (persistence.Store.MergeTokens serialises the read-modify-writes).
//   - Durable in the peer's pinset store (tk/ and te/ keys, persistence/tokens.go), so a
//     restarted peer refuses what it refused before, without asking anyone.
//   - Spread: the peer that issues or revokes publishes the record on <cluster_name>/tokens
//     (actors/gossip, taken only from trusted peers). A peer that missed it (down,
//     partitioned, joined later) pulls every record from a peer it connects to and from a
//     random connected peer every interval (rebroadcast_interval): TokenSyncRequest, paged, an
//     RPC of the policy table (cluster/rpcwire) with read access; only a trusted responder's
//     answer is merged.
//   - A record published just after a peer connected (or restarted) can miss it: gossipsub
//     sends to the subscribers it knows of, and the peer's pull on connection may have run
//     before the publish. So a peer publishes again what it published within the last 30 s
//     whenever a trusted peer joins the tokens topic (republish.go: at most 256 records, at
//     most once every 2 s).
//   - Bounded: a record is kept until its token expires (the token is refused for its expiry
//     then), and each interval drops the expired ones; listing streams from Badger.
//   - The actor serialises the background work: one merge write and one pull at a time, each
//     in an I/O worker that reports back by message; merges that arrive meanwhile wait in a
//     bounded queue (beyond it they are dropped: the next pull brings them). A restarted
//     instance keeps nothing in memory: everything it needs is in Badger.
//   - Answering TokenSyncRequest reads Badger in a goroutine that sends the reply.
//
// # Limits
//
//   - A peer that was down during a revocation accepts the token from its start until its first
//     pull from a peer that has the revocation ends (the pull starts with the first connection;
//     well under a second on loopback). Serving only after that pull would make a peer that
//     cannot reach anyone unable to serve at all.
//   - Records published by a peer outside trusted_peers are not taken: a token issued or revoked
//     on a follower is listed and revoked on that follower only.
//   - A revocation can only name a token whose record this peer holds: a token issued a moment
//     ago on another peer may be a 404 here until its record arrives (the gossip delay).
package tokens
