package client

import (
	"bufio"
	"context"
	"encoding/json"
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
	var block []byte
	return c.statusAllTo(ctx, "text/plain", filter, local, fresh, cids, w, func(g api.GlobalPinInfo) error {
		block = api.AppendStatusText(block[:0], g)
		_, err := w.Write(block)
		return err
	})
}

// StatusAllNDJSON writes StatusAll's answer (StatusAllFresh's when fresh) to w as one compact
// JSON object per line. A pincluster daemon declares its lines canonical (api.StatusNDJSONType)
// and they are copied; any other answer is decoded, filtered and encoded again here.
func (c *Client) StatusAllNDJSON(ctx context.Context, filter string, local, fresh bool, cids []api.Cid, w io.Writer) error {
	enc := json.NewEncoder(w)
	return c.statusAllTo(ctx, api.StatusNDJSONType, filter, local, fresh, cids, w, func(g api.GlobalPinInfo) error { return enc.Encode(g) })
}

// statusAllTo asks GET /pins for the media type want and copies an answer in it to w; any
// other answer is decoded and its items that match filter go to each.
func (c *Client) statusAllTo(ctx context.Context, want, filter string, local, fresh bool, cids []api.Cid, w io.Writer, each func(api.GlobalPinInfo) error) error {
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
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/pins", query: q, accept: want + ", application/json;q=0.9"})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	if answeredIn(resp, br, want) {
		err = copyStream(w, br)
	} else {
		err = decodeStream(br, func(g api.GlobalPinInfo) error {
			if !g.Match(match) {
				return nil
			}
			return each(g)
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

// answeredIn tells whether resp is in the media type want. Text must also not open as JSON:
// Go's server sniffs a JSON body sent without a Content-Type as text/plain, and a status
// block starts with a CID.
func answeredIn(resp *http.Response, br *bufio.Reader, want string) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != want {
		return false
	}
	if want != "text/plain" {
		return true
	}
	first, _ := peekNonSpace(br)
	return first != '{' && first != '['
}

// copyStream copies a response stream to w, telling a broken response from a failed write.
func copyStream(w io.Writer, body io.Reader) error {
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
