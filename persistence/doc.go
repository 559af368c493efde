// Package persistence is the Badger store of the replicated pinset: the pin records (a
// last-writer-wins map keyed by CID), each origin's op log, the version vector, maintained
// counters, and the export/import and backup formats.
//
// # Usage
//
//	st, err := persistence.Open(persistence.Options{Dir: filepath.Join(cfg, "pinset"), SyncWrites: true})
//	defer st.Close()
//	changed, err := st.Apply(ops)               // from the pinset actor only (one writer)
//	err = st.IteratePinsJSON(ctx, func(c api.Cid, js []byte) error { _, err := w.Write(js); return err })
//	vv, _ := st.VersionVector()                 // anti-entropy: what we have
//	err = st.OpsFrom(ctx, origin, vv[origin]+1, send) // what a peer lacks (ErrTrimmed: send a snapshot)
//	next, _ := st.LastSeq(self)                 // a restarted peer continues at next+1
//	pub, _ := st.Published(self)                // and re-publishes ops in (pub, next]
//
// # Contract
//
// The pinset's records, op logs and version vector are written by one caller, the pinset actor
// (actors/pinset): Apply, ApplySnapshot, PruneAbsent, RaiseVersionVector, DropTombstones and
// ExcludeMember. An internal mutex still serialises them with the other writers, which keep
// metadata beside the pinset (TouchMember, the removed-peer cleanup, SetPublished) or run with
// the daemon stopped (Import, LoadBackup); Badger runs without conflict detection, which that
// mutex makes safe. All other methods
// read a committed snapshot and may run concurrently with writes. WriteQueue (the pin tracker's
// queue, trackqueue.go) has its own lock: its keys are disjoint from the pinset's. Iterations hold one Badger
// read transaction for their duration and use constant memory. Merging is deterministic: the
// same set of ops, applied in any order and with any duplicates, yields the same records and
// version vector (tested by a property test).
//
// Lookups of a CID (merging an op, Get, a snapshot's GetPins) first ask an in-memory Bloom
// filter of the stored pin keys and skip Badger when it rules the key out (keyfilter.go: a
// batch ingest's CIDs are nearly all new, and each miss cost a search of every memtable). A
// rerun of a batch ingest finds every CID stored: a snapshot's GetPins splits a large batch
// among goroutines and decodes a run of pin JSON that differs only in the CID once
// (pindecoder.go), and the tables' Bloom filters have a twentieth of the false positives of
// Badger's default, each of which cost a block read (badgerOptions).
//
// # Failures
//
// A write that cannot be made durable fails with an error wrapping api.ErrInsufficientStorage
// (HTTP 507) whose message names the disk and what to do; nothing of the failed transaction is
// stored, reads keep working, and the next write is tried afresh, so the store recovers by
// itself once the disk does. Writes are refused up front while the filesystem has less free
// space than Options.MinFreeSpace (64 MiB by default): Badger writes through memory-mapped
// files, and such a write on a full disk kills the process instead of returning ENOSPC.
// Options.WriteFault injects write faults (tests, internal/faults). Open fails with an
// error wrapping ErrCorrupt when the files cannot be read as a store; its message gives the
// disaster-recovery steps (state cleanup, then a resync from the peers or state export and
// import).
//
// # Key layout
//
// Short prefixes keep keys small; integers are big-endian so that keys sort numerically.
//
//	p/<binary CID>                 record: kind(1) | clock(8) | [after base(8) | uvarint after depth]
//	                               | uvarint seq | uvarint len | origin | pin JSON
//	                               kind 1 = live pin (JSON follows), 2 = tombstone (nothing follows),
//	                               +0x10 = a conditional op (crdt.Rank), whose after fields follow
//	                               the clock (keys.go)
//	o/<len(origin)><origin><seq 8> op log entry: crdt.Op.Marshal() (protobuf), a stub (a pin
//	                               that is its CID's record: clock and CID, the JSON read from p/),
//	                               or a run of stubs of consecutive seqs ending at seq (oplog.go)
//	v/<origin>                     version vector: highest seq stored contiguously from 1 (8 bytes)
//	l/<origin>                     highest seq stored, gaps or not (8 bytes)
//	t/<origin>                     op log trimmed up to this seq (8 bytes; absent = 0)
//	pub/<origin>                   highest own seq published over pubsub (8 bytes)
//	m/count                        number of live pins (8 bytes), updated in the same transaction
//	m/clock                        greatest op clock applied (8 bytes)
//	m/format                       on-disk layout version (8 bytes, currently 4)
//	m/collected                    greatest clock of a collected tombstone (8 bytes; collected.go)
//	mb/<peer ID>                   a member and when it was last heard from (members.go; also
//	                               mx/, mr/, md/: excluded, removed, removal's records dropped)
//	tq/s/<seq 8>, tq/c/<CID>,      the pin tracker's durable queue (trackqueue.go): entries in FIFO
//	tq/f/<CID>, m/tqlen, m/tqseq,  order (batch entries of many CIDs among them,
//	m/tqbatch                      trackqueue_batch.go), the CID index, failed entries, the
//	                               length, the last seq and the CIDs in batch entries
//	xn/<lower(name)>0<CID>         live pins by name, any case (index.go); empty values
//	xm/<key>0<value>0<CID>         live pins by metadata pair (index.go); empty values
//	xr/<created 8 BE><id 16><CID>  pinning service requests, by created time (requests.go)
//	xq/<id 16><CID>                pinning service requests, by id (requests.go)
//	m/indexed                      the xn/ and xm/ indexes are complete (layout version, 8 bytes)
//	xt/<CID>                       the CID's record is a tombstone (tombstones.go); empty, or 0x01
//	                               for an unheld one, which licenses no unpin on this peer's node
//	m/tombs                        the xt/ index is complete (8 bytes, 1)
//	xc/<CID>                       the CID's record is a pin that raced a collected deletion
//	                               (raced.go): uvarint seq | origin of that op
//	sdo/, sdv, sr*/, m/srunpins,   status digests: this peer's and the replicas (statusdigest.go;
//	m/srlayout                     packs: statusdigest_packs.go)
//	tk/<id>                        a bearer token's record: id and metadata, never the token (tokens.go)
//	te/<expires 8 BE><id>          token records by expiry, for DropExpiredTokens (tokens.go)
//
// The kind byte comes first in a record so that listing skips tombstones and finds the JSON
// without decoding anything. The op log doubles the storage per pin; DropTombstones trims it
// (and drops causally stable tombstones), after which OpsFrom returns ErrTrimmed for the trimmed
// range and peers that far behind are synced from a snapshot (IterateRecords).
//
// # Memory
//
// Badger is tuned for a modest footprint (see Options): 3 memtables of 8 MiB, a 32 MiB block
// cache, a 16 MiB index/bloom cache, and 2 MiB tables at every level (Badger's default doubles
// the table size per level, and compaction buffers whole tables: with 1M pins that reached
// 3 GB of heap). Measured with a 300 MiB Go memory limit (debug.SetMemoryLimit, which the
// daemon should set): 1M pins ingested flat out in batches of 4096 peak at about 460 MB RSS,
// of which about 200 MB is anonymous and the rest clean mmapped table pages the kernel can
// reclaim; the store takes about 190 MB of disk (Snappy); listing the 1M pins takes 5 s.
// In the daemon (2026-12, 1M unfetchable pins through pin add --from) the heap peaks at about
// 360 MB, of which 236 MB are compaction table builders (z.Allocator: each buffers a table's
// blocks raw and Snappy-compressed, about 12 MiB per 2 MiB table, and Badger keeps 8 or more
// in flight per compaction) and 52 MB memtable arenas (then 16 MiB each); at rest the live heap
// is about 63 MB. Level 0 takes 64 tables before compacting (badgerOptions says why).
// Tried and rejected: 1 MiB tables (peak RSS -5%, CPU +9%), no compression (RssAnon after a
// listing 312 MB instead of 578, but twice the disk, 519 MB, and as much more mapped). The
// store at 1M queued pins is 294 MB: records (p/) 333 MB raw, op log stubs (o/) 94 MB, the
// tracker's queue (tq/) 111 MB; Badger maps every table, so that is also the RssFile part of
// the daemon's RSS once listed (actors/memtrim drops those pages from the process after a
// burst). Values under 64 KiB (every realistic pin) stay in the LSM tree:
// the value log holds none of them, which keeps iteration fast and makes value-log GC
// unnecessary in practice.
//
// # Export format
//
// JSON lines: {"pincluster_state":1,"pins":N,"exported_at":"..."} then one api.Pin per line.
// Import also reads IPFS Cluster's headerless `state export` files.
package persistence
