// Package embedded is the default IPFS backend of a pincluster peer: a boxo node living inside
// the peer process. Blocks and pins are stored in one Badger v4 database under Config.Dir
// (through a small go-datastore adapter, datastore.go); files are imported with boxo's UnixFS
// importer; CARs are decoded with go-car v2; and, when a libp2p host is given, bitswap runs on
// it as client and server, with no content routing: wants are broadcast to connected peers.
// /ipns/ paths are resolved by boxo's namesys over a dual Kademlia DHT on the same host (IPNS
// records) and DNS (DNSLink), bounded by Config.ResolveTimeout (naming.go).
//
// Usage:
//
//	node, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(cfgDir, "ipfs"), Host: h})
//	if err != nil { ... }
//	defer node.Close()
//	root, err := node.Add(ctx, dir, api.DefaultAddParams(), func(o api.AddedOutput) { ... })
//	err = node.Pin(ctx, root, api.PinModeRecursive, func(n uint64) { ... })
//
// # Garbage collection and operations in progress
//
// GC neither waits for Add, ImportCAR and Pin nor holds them off. A lock taken for each whole
// operation and exclusively by GC (Kubo's PinLock/GCLock, and this package before) made GC wait
// for the slowest pin in flight, up to pin_timeout for a pin whose blocks never come, and since
// a waiting writer blocks new readers, every add queued behind that GC with no output. Instead,
// every operation records in its context each block it checks, reads or writes, before the
// access (gcguard.go, through the blockstore wrapper, so the importer, the CAR reader and
// bitswap fetches need no change), and a GC run spares every block recorded by an operation
// that was live at any moment of the run, or written during it. The only exclusive section is
// the check-and-delete of one block. Blocks outlive their operation through the pin it
// recorded, or, for Add and ImportCAR (which do not pin: the caller pins right after), through
// Config.AddGrace (DefaultAddGrace, one minute) during which their roots count as pinned.
//
// The price: an operation keeps the keys it touched in memory until it ends (a pin's walk
// already keeps a set of the same size; an add of N blocks keeps N keys, about 100 bytes each),
// and garbage an operation touched and then abandoned (a pin that timed out) waits for the next
// GC. Two GCs of one node run one after the other; the second logs that it waits.
//
// # Disk space
//
// Badger writes through memory-mapped files, and a write into one on a full disk kills the
// process (SIGBUS) rather than returning ENOSPC. The node therefore refuses to store blocks and
// pins, with an api.ErrInsufficientStorage error, while its filesystem has less free space than
// Config.MinFreeSpace (DefaultMinFreeSpace, 64 MiB); reads and deletes (GC) go on, and writes
// resume by themselves once space is freed.
package embedded
