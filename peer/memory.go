package peer

import (
	"path/filepath"

	"github.com/pincluster/pincluster/actors/memtrim"
)

// startMemTrim spawns the actor that returns freed heap to the kernel, and drops the resident
// pages of Badger's mapped tables, after a burst of work (see actors/memtrim). RunDaemon calls
// it: it acts on the whole process, so peers that share one (tests) do without it.
func (p *Peer) startMemTrim() error {
	// The pinset store's folder, as /proc/self/maps names its tables (absolute, links
	// resolved): only the tables that store holds can be dropped safely (HoldTables), so only
	// those are measured against the budget; the embedded IPFS node's Badger keeps its pages.
	dir := filepath.Join(p.dir, "pinset")
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	_, err := memtrim.Spawn(p.root, memtrim.Deps{Dir: dir, Hold: p.store.HoldTables}, p.log)
	return err
}
