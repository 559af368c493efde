package embedded

import (
	"fmt"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/diskspace"
)

// DefaultMinFreeSpace is the free space the node's filesystem keeps in reserve when
// Config.MinFreeSpace is 0.
const DefaultMinFreeSpace = 64 << 20

// spaceGuard refuses writes while the filesystem holding dir has less than min bytes free.
// Badger writes through memory-mapped files: such a write on a full disk kills the process
// (SIGBUS) instead of failing with ENOSPC, so the node stops storing blocks and pins while
// there is room left. Deletes are never refused: GC must be able to free space.
type spaceGuard struct {
	dir string
	min uint64 // 0: no check
}

func (g spaceGuard) check() error {
	if g.min == 0 {
		return nil
	}
	free, err := diskspace.Free(g.dir)
	if err != nil {
		return nil // cannot tell: let Badger try
	}
	if free >= g.min {
		return nil
	}
	return fmt.Errorf("%w: the disk holding the IPFS node (%s) has %d MiB free, under the %d MiB it keeps in reserve (datastore.min_free_space): "+
		"free space on that disk (`pincluster ipfs gc` removes unpinned blocks)", api.ErrInsufficientStorage, g.dir, free>>20, g.min>>20)
}
