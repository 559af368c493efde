// Package crdt is the replicated pinset's data model: the Op (one pin or unpin of a CID by an
// origin, numbered by the origin's seq and stamped with its hybrid logical clock), the HLC, the
// VersionVector (highest seq per origin), the Batch that carries ops between peers (signed by
// its origin in the forms older peers send; actors/gossip), and
// their wire and storage encoding (internal/wirepb/op.proto; golden bytes in testdata/golden).
//
// The merge rule is last-writer-wins per CID: the op with the greatest (Rank, Origin) is the
// CID's record, an unpin leaving a tombstone that wins over older pins (Op.Newer). A plain op
// ranks at its clock; a conditional op (a repin, an expiry unpin: changes the cluster makes
// from a record it read) ranks just above that record, so it loses to any op made since
// (Rank). Applying an op is idempotent and commutative, so peers that hold the same ops hold
// the same pinset whatever order the ops arrived in.
//
// It is its own package so that the store (persistence), the actors and the wire code share
// one model without depending on each other or on the actor messages (package messages).
package crdt
