package rest

import (
	"context"
	"fmt"
	"net/url"

	"github.com/pincluster/pincluster/api"
)

// FreshStatus is global status that asks every peer now instead of reading the replica of
// their status digests (?fresh=true on GET /pins and GET /pins/{cid}; status --fresh). A
// Status service without it answers every global status its own way, fresh or not.
type FreshStatus interface {
	StatusFresh(ctx context.Context, c api.Cid) (api.GlobalPinInfo, error)
	StatusAllFresh(ctx context.Context, filter api.TrackerStatus, cids []api.Cid, fn func(api.GlobalPinInfo) error) error
}

// GlobalStatusJSON streams global status of the whole pinset (from the replicas) as the JSON
// of each item, for GET /pins without cids: the fast path of the default global status, as
// StatusLocalJSON is for ?local=true.
type GlobalStatusJSON interface {
	StatusJSON(ctx context.Context, filter api.TrackerStatus, fn func(line []byte) error) error
}

// freshQuery reads ?fresh (and refuses it with ?local=true, which is fresh by nature and
// only this peer).
func freshQuery(q url.Values, local bool) (bool, error) {
	fresh, err := queryBool(q, "fresh")
	if err != nil {
		return false, err
	}
	if fresh && local {
		return false, fmt.Errorf("%w: fresh and local exclude each other (local status is always asked now)", api.ErrInvalid)
	}
	return fresh, nil
}
