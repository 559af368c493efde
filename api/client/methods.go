package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// ID returns the identity of the peer answering (GET /id).
func (c *Client) ID(ctx context.Context) (api.ID, error) {
	var out api.ID
	err := c.getJSON(ctx, request{method: http.MethodGet, path: "/id"}, &out)
	return out, err
}

// Version returns the peer's version (GET /version).
func (c *Client) Version(ctx context.Context) (api.Version, error) {
	var out api.Version
	err := c.getJSON(ctx, request{method: http.MethodGet, path: "/version"}, &out)
	return out, err
}

// Peers streams the ID of every cluster peer (GET /peers).
func (c *Client) Peers(ctx context.Context, fn func(api.ID) error) error {
	return stream(ctx, c, request{method: http.MethodGet, path: "/peers"}, fn)
}

// PeerRemove removes a peer from the cluster (DELETE /peers/{id}).
func (c *Client) PeerRemove(ctx context.Context, id peer.ID) error {
	return c.getJSON(ctx, request{method: http.MethodDelete, path: "/peers/" + url.PathEscape(id.String())}, nil)
}

// Pin pins c with opts (POST /pins/{cid}).
func (c *Client) Pin(ctx context.Context, ci api.Cid, opts api.PinOptions) (api.Pin, error) {
	var out api.Pin
	err := c.getJSON(ctx, request{method: http.MethodPost, path: "/pins/" + ci.String(), query: opts.ToQuery()}, &out)
	return out, err
}

// PinPath pins an /ipfs/, /ipns/ or /ipld/ path (POST /pins/ipfs/...). A path without a
// namespace is taken as /ipfs/.
func (c *Client) PinPath(ctx context.Context, path string, opts api.PinOptions) (api.Pin, error) {
	p, err := pinPath(path)
	if err != nil {
		return api.Pin{}, err
	}
	var out api.Pin
	err = c.getJSON(ctx, request{method: http.MethodPost, path: p, query: opts.ToQuery()}, &out)
	return out, err
}

// Unpin removes c from the pinset (DELETE /pins/{cid}).
func (c *Client) Unpin(ctx context.Context, ci api.Cid) (api.Pin, error) {
	var out api.Pin
	err := c.getJSON(ctx, request{method: http.MethodDelete, path: "/pins/" + ci.String()}, &out)
	return out, err
}

// UnpinPath unpins the CID an /ipfs/ path resolves to (DELETE /pins/ipfs/...).
func (c *Client) UnpinPath(ctx context.Context, path string) (api.Pin, error) {
	p, err := pinPath(path)
	if err != nil {
		return api.Pin{}, err
	}
	var out api.Pin
	err = c.getJSON(ctx, request{method: http.MethodDelete, path: p}, &out)
	return out, err
}

// pinPath maps "/ipfs/<cid>/a b" to the escaped "/pins/ipfs/<cid>/a%20b".
func pinPath(p string) (string, error) {
	p = strings.TrimSpace(p)
	trimmed := strings.TrimPrefix(p, "/")
	ns, rest, _ := strings.Cut(trimmed, "/")
	switch ns {
	case "ipfs", "ipns", "ipld":
	default:
		ns, rest = "ipfs", trimmed
	}
	var segs []string
	for _, s := range strings.Split(rest, "/") {
		if s != "" {
			segs = append(segs, url.PathEscape(s))
		}
	}
	if len(segs) == 0 {
		return "", fmt.Errorf("%w: empty path %q: use /ipfs/<cid>[/sub/path]", api.ErrInvalid, p)
	}
	return "/pins/" + ns + "/" + strings.Join(segs, "/"), nil
}

// Allocation returns one pin of the pinset (GET /allocations/{cid}).
func (c *Client) Allocation(ctx context.Context, ci api.Cid) (api.Pin, error) {
	var out api.Pin
	err := c.getJSON(ctx, request{method: http.MethodGet, path: "/allocations/" + ci.String()}, &out)
	return out, err
}

// Allocations streams the pinset (GET /allocations?filter=). filter is a pin type filter such
// as "pin" or "all"; "" sends none.
func (c *Client) Allocations(ctx context.Context, filter string, fn func(api.Pin) error) error {
	q := url.Values{}
	if filter != "" {
		q.Set("filter", filter)
	}
	return stream(ctx, c, request{method: http.MethodGet, path: "/allocations", query: q}, fn)
}

// FindAllocations streams the pins that q selects by name and metadata (GET /allocations
// with name, name-match and meta-KEY parameters; the daemon answers exact and
// case-insensitive names and metadata pairs from its indexes).
func (c *Client) FindAllocations(ctx context.Context, filter string, q api.PinQuery, fn func(api.Pin) error) error {
	if err := q.Validate(); err != nil {
		return err
	}
	v := url.Values{}
	if filter != "" {
		v.Set("filter", filter)
	}
	if q.Name != "" {
		v.Set("name", q.Name)
	}
	if q.NameMatch != "" {
		v.Set("name-match", q.NameMatch)
	}
	for k, val := range q.Meta {
		v.Set("meta-"+k, val)
	}
	return stream(ctx, c, request{method: http.MethodGet, path: "/allocations", query: v}, fn)
}

func localQuery(local bool) url.Values {
	return url.Values{"local": {strconv.FormatBool(local)}}
}

// Status returns the status of c on its peers (GET /pins/{cid}).
func (c *Client) Status(ctx context.Context, ci api.Cid, local bool) (api.GlobalPinInfo, error) {
	var out api.GlobalPinInfo
	err := c.getJSON(ctx, request{method: http.MethodGet, path: "/pins/" + ci.String(), query: localQuery(local)}, &out)
	return out, err
}

// StatusAll streams the status of the pinset (GET /pins), filtered by a comma list of status
// names and restricted to cids when not empty.
func (c *Client) StatusAll(ctx context.Context, filter string, local bool, cids []api.Cid, fn func(api.GlobalPinInfo) error) error {
	return stream(ctx, c, request{method: http.MethodGet, path: "/pins", query: statusAllQuery(filter, local, cids)}, fn)
}

// statusAllQuery is the query of GET /pins: local, the filter and the CIDs when set.
func statusAllQuery(filter string, local bool, cids []api.Cid) url.Values {
	q := localQuery(local)
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
	return q
}

// Recover re-queues c where it is in error and returns its status (POST /pins/{cid}/recover).
func (c *Client) Recover(ctx context.Context, ci api.Cid, local bool) (api.GlobalPinInfo, error) {
	var out api.GlobalPinInfo
	err := c.getJSON(ctx, request{method: http.MethodPost, path: "/pins/" + ci.String() + "/recover", query: localQuery(local)}, &out)
	return out, err
}

// RecoverAll recovers every errored pin, streaming each outcome (POST /pins/recover).
func (c *Client) RecoverAll(ctx context.Context, local bool, fn func(api.GlobalPinInfo) error) error {
	return stream(ctx, c, request{method: http.MethodPost, path: "/pins/recover", query: localQuery(local)}, fn)
}

// IPFSGC runs a repo gc on the peers (POST /ipfs/gc).
func (c *Client) IPFSGC(ctx context.Context, local bool) (api.GlobalRepoGC, error) {
	var out api.GlobalRepoGC
	err := c.getJSON(ctx, request{method: http.MethodPost, path: "/ipfs/gc", query: localQuery(local)}, &out)
	return out, err
}

// Metrics returns the latest metric of each peer for name (GET /monitor/metrics/{name}).
func (c *Client) Metrics(ctx context.Context, name string) ([]api.Metric, error) {
	var out []api.Metric
	err := stream(ctx, c, request{method: http.MethodGet, path: "/monitor/metrics/" + url.PathEscape(name)},
		func(m api.Metric) error { out = append(out, m); return nil })
	return out, err
}

// MetricNames returns the names of the metrics peers publish (GET /monitor/metrics).
func (c *Client) MetricNames(ctx context.Context) ([]string, error) {
	var out []string
	err := stream(ctx, c, request{method: http.MethodGet, path: "/monitor/metrics"},
		func(s string) error { out = append(out, s); return nil })
	return out, err
}

// Alerts returns the current alerts (GET /health/alerts).
func (c *Client) Alerts(ctx context.Context) ([]api.Alert, error) {
	var out []api.Alert
	err := stream(ctx, c, request{method: http.MethodGet, path: "/health/alerts"},
		func(a api.Alert) error { out = append(out, a); return nil })
	return out, err
}

// ConnectGraph returns who sees whom (GET /health/graph).
func (c *Client) ConnectGraph(ctx context.Context) (api.ConnectGraph, error) {
	var out api.ConnectGraph
	err := c.getJSON(ctx, request{method: http.MethodGet, path: "/health/graph"}, &out)
	return out, err
}
