package embedded

import (
	"fmt"
	"syscall"

	"github.com/pincluster/pincluster/api"
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
	var st syscall.Statfs_t
	if err := syscall.Statfs(g.dir, &st); err != nil {
		return nil // cannot tell: let Badger try
	}
	free := st.Bavail * uint64(st.Bsize)
	if free >= g.min {
		return nil
	}
	return fmt.Errorf("%w: the disk holding the IPFS node (%s) has %d MiB free, under the %d MiB it keeps in reserve: "+
		"free space on that disk (`pincluster ipfs gc` removes unpinned blocks)", api.ErrInsufficientStorage, g.dir, free>>20, g.min>>20)
}
