package ingest

import (
	"fmt"

	"github.com/pincluster/pincluster/api"
)

// The pins of a sharded add (a meta-pin, its cluster-DAG and its shards) are refused per line,
// with the words of the single calls (cluster/shard_unpin.go: refuseRepinSharded and
// unpinSharded), so a user gets the same answer from `pin add CID` and `pin add --from`.

// refuseRepinSharded is the error of a pin line naming a pin of a sharded add: pinning it as
// an ordinary pin would make its allocations fetch the whole DAG.
func refuseRepinSharded(existing api.Pin) error {
	return fmt.Errorf("%w: %s is a %s of a sharded add; unpin the meta-pin first to pin it whole", api.ErrInvalid, existing.Cid, existing.TypeOrData())
}

// refuseUnpinSharded is the error of an unpin line naming a pin of a sharded add (nil for an
// ordinary pin). A shard or cluster-DAG alone is refused as `pin rm` refuses it. A meta-pin is
// refused too, though `pin rm` unpins it with its shards: the shards are listed only in the
// cluster-DAG's block, which the batch service cannot read (it has no IPFS node), and
// unpinning the meta-pin alone would leave shards that no meta-pin names, pinned for good.
func refuseUnpinSharded(pin api.Pin) error {
	switch pin.TypeOrData() {
	case api.PinTypeData:
		return nil
	case api.PinTypeShard:
		return fmt.Errorf("%w: %s is a shard of a sharded add: unpin its meta-pin (pin ls --filter meta-pin), which removes every shard", api.ErrInvalid, pin.Cid)
	case api.PinTypeClusterDAG:
		meta := "its meta-pin"
		if pin.Reference != nil {
			meta = "its meta-pin " + pin.Reference.String()
		}
		return fmt.Errorf("%w: %s is the cluster-DAG of a sharded add: unpin %s, which removes every shard", api.ErrInvalid, pin.Cid, meta)
	}
	// A meta-pin (the only type left).
	return fmt.Errorf("%w: %s is the meta-pin of a sharded add: a batch does not unpin sharded DAGs; run `pincluster pin rm %s`, which removes its shards and cluster-DAG with it", api.ErrInvalid, pin.Cid, pin.Cid)
}
