// Package diskspace reads the free space of a filesystem: the one statfs the pinset store's
// reserve, the embedded IPFS node's reserve and repo stat, and the Kubo backend all use.
package diskspace

import "syscall"

// Free is the space free to unprivileged users on the filesystem holding dir (statfs's
// available blocks times the block size).
func Free(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
