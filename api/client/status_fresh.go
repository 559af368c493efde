package client

import (
	"context"
	"net/http"
	"strings"

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
	q := localQuery(false)
	q.Set("fresh", "true")
	if filter != "" {
		q.Set("filter", filter)
	}
	if len(cids) > 0 {
		s := make([]string, len(cids))
		for i, ci := range cids {
			s[i] = ci.String()
		}
		q.Set("cids", strings.Join(s, ","))
	}
	return stream(ctx, c, request{method: http.MethodGet, path: "/pins", query: q}, fn)
}
