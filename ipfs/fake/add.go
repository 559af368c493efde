package fake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"

	"github.com/ipfs/boxo/files"
	gocid "github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	mh "github.com/multiformats/go-multihash"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// rawCid is the CIDv1 (raw codec, sha2-256) of data: the fake's content address for everything.
func rawCid(data []byte) api.Cid {
	sum := sha256.Sum256(data)
	m, _ := mh.Encode(sum[:], mh.SHA2_256)
	return api.NewCid(gocid.NewCidV1(gocid.Raw, m))
}

// Add stores every file's content under a raw sha256 CIDv1 and each directory under the CID of
// its sorted (name, CID) listing. It reports every entry to out and returns the root as the
// Backend contract says: an empty directory is content, input without entries or that cannot be
// read is api.ErrInvalid. params' layout and chunker are ignored.
func (b *Backend) Add(ctx context.Context, dir files.Directory, params api.AddParams, out ipfs.AddOutput) (api.Cid, error) {
	if dir == nil {
		return api.CidUndef, fmt.Errorf("%w: nothing to add", api.ErrInvalid)
	}
	staged := map[string][]byte{}
	var entries []api.AddedOutput
	root, _, err := b.addDir(ctx, dir, "", staged, &entries)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return api.CidUndef, ctxErr
		}
		return api.CidUndef, err
	}
	if len(topEntries(entries)) == 0 {
		return api.CidUndef, fmt.Errorf("%w: nothing to add: the input has no entries", api.ErrInvalid)
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return api.CidUndef, ipfs.ErrClosed
	}
	for k, v := range staged {
		b.blocks[k] = v
	}
	b.mu.Unlock()
	// Without wrapping, a single top-level entry is the root (the file, or its directory).
	top := topEntries(entries)
	if !params.WrapWithDirectory && len(top) == 1 {
		root = top[0].Cid
	} else if params.WrapWithDirectory {
		entries = append(entries, api.AddedOutput{Name: "", Cid: root})
	}
	if out != nil {
		for _, e := range entries {
			out(e)
		}
	}
	return root, nil
}

func topEntries(entries []api.AddedOutput) []api.AddedOutput {
	var top []api.AddedOutput
	for _, e := range entries {
		if path.Dir(e.Name) == "." {
			top = append(top, e)
		}
	}
	return top
}

// addDir stores the entries of dir (recursively) and returns its listing CID and file count.
func (b *Backend) addDir(ctx context.Context, dir files.Directory, prefix string, staged map[string][]byte, out *[]api.AddedOutput) (api.Cid, int, error) {
	type link struct {
		name string
		c    api.Cid
	}
	var links []link
	count := 0
	it := dir.Entries()
	for it.Next() {
		if err := ctx.Err(); err != nil {
			return api.CidUndef, 0, err
		}
		name := path.Join(prefix, it.Name())
		switch nd := it.Node().(type) {
		case files.File:
			data, err := io.ReadAll(nd)
			if err != nil {
				return api.CidUndef, 0, fmt.Errorf("%w: reading %s: %v", api.ErrInvalid, name, err)
			}
			c := rawCid(data)
			staged[key(c)] = data
			links = append(links, link{it.Name(), c})
			*out = append(*out, api.AddedOutput{Name: name, Cid: c, Size: uint64(len(data))})
			count++
		case files.Directory:
			c, n, err := b.addDir(ctx, nd, name, staged, out)
			if err != nil {
				return api.CidUndef, 0, err
			}
			links = append(links, link{it.Name(), c})
			*out = append(*out, api.AddedOutput{Name: name, Cid: c})
			count += n
		default:
			return api.CidUndef, 0, fmt.Errorf("%w: %s: unsupported file type", api.ErrInvalid, name)
		}
	}
	if err := it.Err(); err != nil {
		return api.CidUndef, 0, fmt.Errorf("%w: reading the files to add: %v", api.ErrInvalid, err)
	}
	sort.Slice(links, func(i, j int) bool { return links[i].name < links[j].name })
	var listing []byte
	for _, l := range links {
		listing = append(listing, l.name...)
		listing = append(listing, 0)
		listing = append(listing, l.c.Bytes()...)
		listing = append(listing, '\n')
	}
	c := rawCid(append([]byte("fake-dir\n"), listing...))
	staged[key(c)] = listing
	return c, count, nil
}

// ImportCAR reads a CAR v1/v2 stream in memory and stores its blocks. It needs exactly one root
// and its block (or an identity root); malformed input, a root count other than one or a missing
// root block returns an error wrapping ipfs.ErrBadCAR and stores nothing.
func (b *Backend) ImportCAR(ctx context.Context, r io.Reader) (api.Cid, error) {
	roots, err := b.importCAR(ctx, r, true)
	if err != nil {
		return api.CidUndef, err
	}
	return roots[0], nil
}

// ImportCARRoots is ImportCAR for a CAR with any number of roots, which it need not carry.
func (b *Backend) ImportCARRoots(ctx context.Context, r io.Reader) ([]api.Cid, error) {
	return b.importCAR(ctx, r, false)
}

func (b *Backend) importCAR(ctx context.Context, r io.Reader, one bool) ([]api.Cid, error) {
	br, err := carv2.NewBlockReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ipfs.ErrBadCAR, err)
	}
	if one && len(br.Roots) != 1 {
		return nil, fmt.Errorf("%w: the CAR has %d roots; it must have exactly one", ipfs.ErrBadCAR, len(br.Roots))
	}
	hasRoot := !one || br.Roots[0].Prefix().MhType == mh.IDENTITY
	staged := map[string][]byte{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		blk, err := br.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ipfs.ErrBadCAR, err)
		}
		staged[blk.Cid().KeyString()] = blk.RawData()
		hasRoot = hasRoot || one && bytes.Equal(blk.Cid().Hash(), br.Roots[0].Hash())
	}
	if !hasRoot {
		return nil, fmt.Errorf("%w: the root block %s is not in the CAR (a CAR must contain its root)", ipfs.ErrBadCAR, br.Roots[0])
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ipfs.ErrClosed
	}
	for k, v := range staged {
		b.blocks[k] = v
	}
	roots := make([]api.Cid, len(br.Roots))
	for i, r := range br.Roots {
		roots[i] = api.NewCid(r)
	}
	return roots, nil
}
