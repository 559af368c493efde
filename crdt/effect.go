package crdt

// Effect is what merging an op did to its CID's record.
type Effect uint8

const (
	// Kept: the op lost to the record, or was a duplicate; nothing changed.
	Kept Effect = iota
	// Replaced: the op won over the CID's record and is its record now.
	Replaced
	// Created: the op won where the CID had no record (not even a tombstone).
	Created
	// Unheld: an unpin won where this peer held no live record of its CID: over no record, or
	// over a tombstone that was unheld too (persistence's tombstones.go). The cluster never
	// pinned the CID on this peer's IPFS node for it, so nothing is to be unpinned there.
	Unheld
)

// Won reports whether the op is now its CID's record.
func (e Effect) Won() bool { return e != Kept }
