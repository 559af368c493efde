package kubo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multicodec"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/ipfs"
)

var _ ipfs.BlockPutter = (*Node)(nil)

// PutBlocks stores pushed blocks with block/put, one call per CID format of the batch (Kubo
// takes the codec and hash of all the files of one call from its options). Kubo keys blocks by
// multihash, so the CID version does not matter. root is not used: Kubo has no add grace (its
// GC removes unpinned blocks whenever it runs; the pin follows the push within seconds).
func (n *Node) PutBlocks(ctx context.Context, _ cid.Cid, blks []blocks.Block) error {
	ctx, done, err := n.begin(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	groups := map[cid.Prefix][]blocks.Block{}
	var order []cid.Prefix
	for _, b := range blks {
		p := b.Cid().Prefix()
		p.Version = 1
		if _, ok := groups[p]; !ok {
			order = append(order, p)
		}
		groups[p] = append(groups[p], b)
	}
	for _, p := range order {
		if err := n.blockPut(ctx, p, groups[p]); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) blockPut(ctx context.Context, p cid.Prefix, blks []blocks.Block) error {
	codec := multicodec.Code(p.Codec).String()
	if strings.HasPrefix(codec, "Code(") {
		return fmt.Errorf("kubo block/put: codec 0x%x has no name", p.Codec)
	}
	hash, ok := mh.Codes[p.MhType]
	if !ok {
		return fmt.Errorf("kubo block/put: hash 0x%x has no name", p.MhType)
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		var err error
		for i, b := range blks {
			var part io.Writer
			if part, err = mw.CreateFormFile("file", strconv.Itoa(i)); err != nil {
				break
			}
			if _, err = part.Write(b.RawData()); err != nil {
				break
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	q := url.Values{"cid-codec": {codec}, "mhtype": {hash}, "mhlen": {strconv.Itoa(p.MhLength)}, "allow-big-block": {"true"}}
	if p.MhLength <= 0 {
		q.Del("mhlen")
	}
	return n.call(ctx, request{cmd: "block/put", query: q, body: pr, contentType: mw.FormDataContentType()}, drain)
}

// HasBlock asks block/stat without going to the network.
func (n *Node) HasBlock(ctx context.Context, c cid.Cid) (bool, error) {
	ctx, done, err := n.begin(ctx, true)
	if err != nil {
		return false, err
	}
	defer done()
	err = n.call(ctx, request{cmd: "block/stat", query: url.Values{"arg": {c.String()}, "offline": {"true"}}}, drain)
	var ke *Error
	if errors.As(err, &ke) {
		return false, nil // not found (Kubo answers an error for a block it does not hold)
	}
	return err == nil, err
}
