package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/pincluster/pincluster/api"
)

// StatusAllText writes StatusAll's answer (StatusAllFresh's when fresh) to w as
// ipfs-cluster-ctl's text blocks (api.AppendStatusText). It asks for text (Accept:
// text/plain), which a pincluster daemon renders as it reads the pinset, so a global status,
// a line per member for every pin, is not encoded as JSON only to be decoded here. A daemon
// that answers JSON anyway (IPFS Cluster, an earlier pincluster) gets its items rendered here,
// filtered by filter as StatusAll's caller would.
func (c *Client) StatusAllText(ctx context.Context, filter string, local, fresh bool, cids []api.Cid, w io.Writer) error {
	match, err := api.ParseTrackerStatusFilter(filter)
	if err != nil {
		return err
	}
	q := statusAllQuery(filter, local, cids)
	if fresh {
		q.Set("fresh", "true")
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/pins", query: q, accept: "text/plain, application/json;q=0.9"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Text is text/plain that does not open as JSON: Go's server sniffs a JSON body sent
	// without a Content-Type as text/plain, and a block starts with a CID.
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	first, _ := peekNonSpace(br)
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/plain" && first != '{' && first != '[' {
		err = copyText(w, br)
	} else {
		var block []byte
		err = decodeStream(br, func(g api.GlobalPinInfo) error {
			if !g.Match(match) {
				return nil
			}
			block = api.AppendStatusText(block[:0], g)
			_, err := w.Write(block)
			return err
		})
	}
	if err != nil {
		if ctx.Err() != nil {
			return wrapCtxErr(ctx, c.hostName())
		}
		return err
	}
	return trailerError(resp)
}

// copyText copies a text stream to w, telling a broken response from a failed write.
func copyText(w io.Writer, body io.Reader) error {
	buf := make([]byte, 64<<10)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("reading response stream: %w", rerr)
		}
	}
}
