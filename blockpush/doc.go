// Package blockpush streams the blocks of a cluster add from the peer that received the
// content to the IPFS nodes of its allocations, over the cluster's own libp2p host
// (ProtocolID, /pincluster/blocks/1), so that when the add returns every allocation holds the
// whole DAG and the receiving peer kept nothing it is not allocated (IPFS Cluster's adder
// streams blocks to its allocations the same way, over its RPC).
//
// Decisions:
//   - The receiving peer chunks the input once into a Spool: an append-only temporary file
//     with an in-memory index, not its IPFS node. Each allocation's sender reads the spool in
//     order at its own pace, so a slow peer does not hold back the others and a replacement
//     peer starts from the first block. Chunking ends before the pushes start: the root (and
//     so the allocation, which the allocator computes per CID) is known only then.
//   - One stream per allocation, written by the pushing goroutine and read by one ack reader
//     goroutine. Backpressure is a window of blocks sent and not acked (WindowBlocks,
//     WindowBytes); the receiver stores a batch (ackBlocks or ackBytes) in its IPFS node with
//     one PutBlocks call and acks the running count, so memory on both sides is bounded
//     whatever the size of the add.
//   - The receiver verifies every block against its CID before storing it, and only trusted
//     peers may push (cluster/rpcwire.AuthorizeBlockPush, consensus.crdt.trusted_peers): a
//     refusal or a storage failure travels back as an error frame with the reason.
//   - Blocks are stored unpinned; the pin follows (cluster/add_push.go). The embedded node
//     protects the pushed root from GC for its add grace; a push that fails leaves its blocks
//     to IPFS GC.
//   - Frames (frame.go) are a type byte, a uvarint length and a payload; a frame over
//     maxFrame is refused before it is allocated (FuzzReadFrame).
//
// Usage (peer/blockpush.go wires it):
//
//	srv := blockpush.NewServer(host, ipfs.BlockPutterOf(backend), rpcwire.AuthorizeBlockPush(trusted), log)
//	defer srv.Close()
//	p := blockpush.NewPusher(host, ipfs.BlockPutterOf(backend), spoolDir, log)
//	sp, _ := p.NewSpool()
//	defer sp.Close()
//	root, _ := sp.ImportFiles(ctx, dir, params, out)
//	err := p.Push(ctx, allocation, sp, root.Cid, progress) // one goroutine per allocation
package blockpush
