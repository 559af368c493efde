package client

import (
	"context"
	"net/http"

	"github.com/pincluster/pincluster/api"
)

// StatusFresh is Status asking every peer now rather than reading the replica of their status
// digests (GET /pins/{cid}?fresh=true).
func (c *Client) StatusFresh(ctx context.Context, ci api.Cid) (api.GlobalPinInfo, error) {
	var out api.GlobalPinInfo
	q := localQuery(false)
	q.Set("fresh", "true")
	err := c.getJSON(ctx, request{method: http.MethodGet, path: "/pins/" + ci.String(), query: q}, &out)
	return out, err
}

// StatusAllFresh is StatusAll (global) asking every peer now (GET /pins?fresh=true).
func (c *Client) StatusAllFresh(ctx context.Context, filter string, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	q := statusAllQuery(filter, false, cids)
	q.Set("fresh", "true")
	return stream(ctx, c, request{method: http.MethodGet, path: "/pins", query: q}, fn)
}
