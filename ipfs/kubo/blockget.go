package kubo

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/pincluster/pincluster/api"
)

// maxBlockGet bounds a block/get answer: Kubo refuses blocks over 2 MiB without
// allow-big-block, a sharded add's nodes are under 256 KiB.
const maxBlockGet = 4 << 20

// GetBlock returns the raw bytes of block c (block/get; Kubo fetches it when it is not local).
// A sharded add's unpin and status read its cluster-DAG with it (cluster/shard_read.go).
func (n *Node) GetBlock(ctx context.Context, c api.Cid) ([]byte, error) {
	ctx, done, err := n.begin(ctx, true)
	if err != nil {
		return nil, err
	}
	defer done()
	var out []byte
	err = n.call(ctx, request{cmd: "block/get", query: url.Values{"arg": {c.String()}}}, func(r io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(r, maxBlockGet+1))
		if err != nil {
			return err
		}
		if len(b) > maxBlockGet {
			return fmt.Errorf("kubo block/get %s: more than %d bytes", c, maxBlockGet)
		}
		out = b
		return nil
	})
	return out, err
}
