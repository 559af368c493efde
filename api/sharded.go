package api

import "fmt"

// The refusals of a sharded add's pins (a meta-pin, its cluster-DAG, its shards) as single
// calls (cluster) and batch lines (ingest) both give them, in the same words.

// RefuseRepinSharded is the error of a pin of a CID that a sharded add pinned: pinning it as
// an ordinary pin would make its allocations fetch the whole DAG.
func RefuseRepinSharded(existing Pin) error {
	return fmt.Errorf("%w: %s is a %s of a sharded add; unpin the meta-pin first to pin it whole", ErrInvalid, existing.Cid, existing.TypeOrData())
}

// RefuseUnpinPart is the error of an unpin of a shard or a cluster-DAG alone (nil for any
// other pin): removing it would leave the meta-pin naming content the cluster no longer holds.
func RefuseUnpinPart(pin Pin) error {
	switch pin.TypeOrData() {
	case PinTypeShard:
		return fmt.Errorf("%w: %s is a shard of a sharded add: unpin its meta-pin (pin ls --filter meta-pin), which removes every shard", ErrInvalid, pin.Cid)
	case PinTypeClusterDAG:
		meta := "its meta-pin"
		if pin.Reference != nil {
			meta = "its meta-pin " + pin.Reference.String()
		}
		return fmt.Errorf("%w: %s is the cluster-DAG of a sharded add: unpin %s, which removes every shard", ErrInvalid, pin.Cid, meta)
	}
	return nil
}
