// Package embedded is the default IPFS backend of a pincluster peer: a boxo node living inside
// the peer process. Blocks and pins are stored in one Badger v4 database under Config.Dir
// (through a small go-datastore adapter, datastore.go); files are imported with boxo's UnixFS
// importer; CARs are decoded with go-car v2; and, when a libp2p host is given, bitswap runs on
// it as client and server, with no content routing: wants are broadcast to connected peers.
//
// Usage:
//
//	node, err := embedded.New(ctx, embedded.Config{Dir: filepath.Join(cfgDir, "ipfs"), Host: h})
//	if err != nil { ... }
//	defer node.Close()
//	root, err := node.Add(ctx, dir, api.DefaultAddParams(), func(o api.AddedOutput) { ... })
//	err = node.Pin(ctx, root, api.PinModeRecursive, func(n uint64) { ... })
//
// Garbage collection and the add-then-pin window: Add, ImportCAR and Pin hold a read lock that
// GC takes for writing, so GC never runs in the middle of them. Add and ImportCAR do not pin;
// the caller pins right after, so their roots stay protected from GC for Config.AddGrace
// (DefaultAddGrace, one minute).
package embedded
