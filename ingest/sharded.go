package ingest

import (
	"fmt"

	"github.com/pincluster/pincluster/api"
)

// refuseUnpinSharded is the error of an unpin line naming a pin of a sharded add (nil for an
// ordinary pin), in the words of the single `pin rm` (api.RefuseUnpinPart) for a shard or a
// cluster-DAG. A meta-pin is refused too, though `pin rm` unpins it with its shards: the
// shards are listed only in the cluster-DAG's block, which the batch service cannot read (it
// has no IPFS node), and unpinning the meta-pin alone would leave shards that no meta-pin
// names, pinned for good.
func refuseUnpinSharded(pin api.Pin) error {
	if pin.TypeOrData() != api.PinTypeMeta {
		return api.RefuseUnpinPart(pin)
	}
	return fmt.Errorf("%w: %s is the meta-pin of a sharded add: a batch does not unpin sharded DAGs; run `pincluster pin rm %s`, which removes its shards and cluster-DAG with it", api.ErrInvalid, pin.Cid, pin.Cid)
}
