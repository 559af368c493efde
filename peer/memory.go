package peer

import "github.com/pincluster/pincluster/actors/memtrim"

// startMemTrim spawns the actor that returns freed heap to the kernel, and drops the resident
// pages of Badger's mapped tables, after a burst of work (see actors/memtrim). RunDaemon calls
// it: it acts on the whole process, so peers that share one (tests) do without it. Only the
// pinset store's tables are measured and dropped: only those can be held while their pages
// are dropped (HoldTables); the embedded IPFS node's Badger keeps its pages.
func (p *Peer) startMemTrim() error {
	_, err := memtrim.Spawn(p.root, memtrim.Deps{Dir: p.store.TablesDir(), Hold: p.store.HoldTables}, p.log)
	return err
}
