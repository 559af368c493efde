package embedded

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	ipfspinner "github.com/ipfs/boxo/pinning/pinner"
	"github.com/ipfs/go-cid"
	dsq "github.com/ipfs/go-datastore/query"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/diskspace"
	"github.com/pincluster/pincluster/ipfs"
)

// GC deletes every block not reachable from a pin or from a root added less than
// Config.AddGrace ago, and not used by an Add, ImportCAR or Pin in progress, then reclaims
// Badger value-log space. It neither waits for those operations nor holds them off (see the
// package doc); it waits only for another GC of this node to finish, and logs that it does.
func (n *Node) GC(ctx context.Context) ([]api.Cid, error) {
	ctx, done, err := n.admit(ctx, false) // GC's own reads are not an operation to protect
	if err != nil {
		return nil, err
	}
	defer done()
	select {
	case n.gcRunning <- struct{}{}:
	default:
		n.log.Info("gc: another garbage collection is running on this node; waiting for it to finish")
		select {
		case n.gcRunning <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("gc: gave up waiting for the garbage collection already running on this node: %w", ctx.Err())
		}
	}
	defer func() { <-n.gcRunning }()
	inFlight := n.guard.startRun()
	defer n.guard.endRun()
	n.log.Info("gc started", "operations in progress", inFlight)

	keep, err := n.markLive(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: mark pinned blocks: %w", err)
	}
	keys, err := n.blocks.AllKeysChan(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: list blocks: %w", err)
	}
	var removed []api.Cid
	var firstErr error
	spared := 0
	for k := range keys {
		if _, ok := keep[string(k.Hash())]; ok {
			continue
		}
		deleted, err := n.guard.deleteUnused(k, func() error { return n.blocks.DeleteBlock(ctx, k) })
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("gc: delete %s: %w", k, err)
			}
			continue
		}
		if !deleted {
			spared++
			continue
		}
		removed = append(removed, api.NewCid(k))
	}
	if err := ctx.Err(); err != nil {
		return removed, err
	}
	n.stats.invalidate()
	if len(removed) > 0 {
		for i := 0; i < 16 && n.db.RunValueLogGC(0.5) == nil; i++ {
		}
	}
	n.log.Info("gc done", "removed", len(removed), "kept", len(keep), "in use by operations in progress", spared)
	return removed, firstErr
}

// markLive returns the multihashes of every block reachable from a recursive pin or a
// recently added root, plus the direct pins. Missing blocks under a pin are skipped.
func (n *Node) markLive(ctx context.Context) (map[string]struct{}, error) {
	keep := map[string]struct{}{}
	var recursive []cid.Cid
	for _, s := range []struct {
		keys   func(context.Context, bool) <-chan ipfspinner.StreamedPin
		direct bool
	}{{n.pinner.RecursiveKeys, false}, {n.pinner.DirectKeys, true}} {
		for sp := range s.keys(ctx, false) {
			if sp.Err != nil {
				return nil, sp.Err
			}
			if s.direct {
				keep[string(sp.Pin.Key.Hash())] = struct{}{}
			} else {
				recursive = append(recursive, sp.Pin.Key)
			}
		}
	}
	recursive = append(recursive, n.recent.live()...)
	seen := cid.NewSet()
	visit := func(c cid.Cid) bool {
		if !seen.Visit(c) {
			return false
		}
		keep[string(c.Hash())] = struct{}{}
		return true
	}
	getLinks := merkledag.GetLinksWithDAG(n.localDAG)
	for _, root := range recursive {
		if err := merkledag.Walk(ctx, getLinks, root, visit, merkledag.IgnoreMissing()); err != nil {
			return nil, fmt.Errorf("walk %s: %w", root, err)
		}
	}
	return keep, ctx.Err()
}

// RepoStat reports disk use of the node's directory, the filesystem's free space (bounded by
// Config.StorageMax) and the number of blocks.
func (n *Node) RepoStat(ctx context.Context) (ipfs.RepoStat, error) {
	ctx, done, err := n.begin(ctx)
	if err != nil {
		return ipfs.RepoStat{}, err
	}
	defer done()
	size, err := diskUsage(n.cfg.Dir)
	if err != nil {
		return ipfs.RepoStat{}, fmt.Errorf("repo stat: %w", err)
	}
	free, err := diskspace.Free(n.cfg.Dir)
	if err != nil {
		return ipfs.RepoStat{}, fmt.Errorf("repo stat: statfs %s: %w", n.cfg.Dir, err)
	}
	// The reserve is not free for pins: a peer ranked by this figure would be chosen for pins
	// it refuses (datastore.min_free_space).
	free -= min(free, n.dstore.space.min)
	if max := n.cfg.StorageMax; max > 0 {
		left := uint64(0)
		if max > size {
			left = max - size
		}
		free = min(free, left)
	}
	count, err := n.stats.get(ctx, n.countBlocks)
	if err != nil {
		return ipfs.RepoStat{}, fmt.Errorf("repo stat: count blocks: %w", err)
	}
	return ipfs.RepoStat{RepoSize: size, StorageMax: n.cfg.StorageMax, FreeSpace: free, NumObjects: count}, nil
}

// diskUsage sums the allocated size of the files under dir (value-log files are sparse, so
// their apparent size overstates use).
func diskUsage(dir string) (uint64, error) {
	var total uint64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += uint64(st.Blocks) * 512
		} else {
			total += uint64(info.Size())
		}
		return nil
	})
	return total, err
}

func (n *Node) countBlocks(ctx context.Context) (uint64, error) {
	res, err := n.dstore.Query(ctx, dsq.Query{Prefix: "/blocks", KeysOnly: true})
	if err != nil {
		return 0, err
	}
	defer res.Close()
	var count uint64
	for {
		r, ok := res.NextSync()
		if !ok {
			return count, nil
		}
		if r.Error != nil {
			return count, r.Error
		}
		count++
	}
}

// objectCounter caches the block count. Writers invalidate it; a large repo is recounted at
// most every recountEvery.
type objectCounter struct {
	mu    sync.Mutex
	valid bool
	count uint64
	at    time.Time
}

const (
	recountEvery   = 30 * time.Second
	cheapRecountAt = 100_000
)

func (o *objectCounter) invalidate() {
	o.mu.Lock()
	o.valid = false
	o.mu.Unlock()
}

func (o *objectCounter) get(ctx context.Context, count func(context.Context) (uint64, error)) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.at.IsZero() && (o.valid || (o.count >= cheapRecountAt && time.Since(o.at) < recountEvery)) {
		return o.count, nil
	}
	c, err := count(ctx)
	if err != nil {
		return 0, err
	}
	o.count, o.valid, o.at = c, true, time.Now()
	return c, nil
}
