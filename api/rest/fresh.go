package rest

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

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

// TextStatus streams the whole pinset's status as ipfs-cluster-ctl's text blocks
// (api.AppendStatusText), for GET /pins with Accept: text/plain: StatusText from the
// replicas, StatusLocalText for ?local=true. Any other status stream asked as text is
// rendered here from its items.
type TextStatus interface {
	StatusText(ctx context.Context, filter api.TrackerStatus, fn func(block []byte) error) error
	StatusLocalText(ctx context.Context, filter api.TrackerStatus, fn func(block []byte) error) error
}

// statusType is the media type a status stream is answered in: the first of text/plain
// (api.StatusTextType), application/x-ndjson (api.StatusNDJSONType: the same lines as
// application/json, declared to be one compact object per line as encoding/json writes it)
// and application/json that the Accept header lists. Anything else, */* and no header
// included, gets application/json as IPFS Cluster answers.
func statusType(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/plain":
			return api.StatusTextType
		case api.StatusNDJSONType, "application/json":
			return mt
		}
	}
	return "application/json"
}
