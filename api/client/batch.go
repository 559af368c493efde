package client

import (
	"context"
	"io"
	"net/http"

	"github.com/pincluster/pincluster/api"
)

// Batch streams a batch ingest to POST /pins/batch: body is read to its end while fn is called
// with each event of the answer (failed lines, acknowledgements after each commit, the totals
// last). open is called once per host tried (fail-over on connection errors); it may refuse a
// second call when the input cannot be read again (stdin). opts are the options of lines that
// do not set their own (only for op pin).
func (c *Client) Batch(ctx context.Context, op api.BatchOp, opts api.PinOptions, open func() (io.ReadCloser, error), fn func(api.BatchEvent) error) error {
	q := opts.ToQuery()
	if op == api.BatchUnpin {
		q = nil
	}
	if q == nil {
		q = map[string][]string{}
	}
	q.Set("op", string(op))
	req := request{method: http.MethodPost, path: "/pins/batch", query: q, expect100: true,
		body: func() (io.ReadCloser, string, error) {
			rc, err := open()
			return rc, "application/x-ndjson", err
		}}
	return stream(ctx, c, req, fn)
}
