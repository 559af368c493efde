// Package ingest is batch ingest: a stream of lines (one CID per line, or NDJSON objects with
// per-pin options) turned into pinset changes in large group commits, with a report per bad
// line. `pincluster pin add --from FILE` and `pin rm --from FILE` stream the file to
// POST /pins/batch, whose handler hands the body to Service.Run.
//
// Decisions:
//   - One endpoint, POST /pins/batch, with op=pin (default) or op=unpin: both read the same
//     lines and answer the same stream, and a DELETE with a body is poorly supported by
//     proxies and clients. Query parameters are the pin options of POST /pins/{cid}; a line's
//     own NDJSON fields override them field by field.
//   - Lines are read in chunks (ChunkLines, or fewer: what came before the writer paused,
//     see readChunks, so a slow producer's lines are durable and acknowledged as they come).
//     Each chunk is validated line by line (api.PinOptions.Validate after the cluster
//     defaults, as for a single pin), looked up in a store snapshot in one go (a snapshot
//     renewed every 16 chunks or second: a fresh read transaction per lookup would wait for
//     the commit in flight; a CID repeated within those chunks may be committed twice, with
//     the same options: the later commit only moves its timestamp), allocated from one
//     metrics snapshot, and committed through the pinset actor as one group commit. Only
//     after the commit returned are the chunk's lines acknowledged in the response, so a line reported ok is durable; a dropped connection
//     stops the run after the commit in flight, and every op is whole (the store commits whole
//     ops), so nothing is half-applied.
//   - A pipeline of three stages: one reader goroutine parses chunk k+2 while chunk k+1 is
//     prepared (lookup, allocation, JSON) and chunk k is being committed. The reader owns the
//     body; commits run one at a time, in input order.
//   - Idempotent: a pin line whose CID is stored with the same options is ok without an op,
//     an unpin line whose CID is not pinned too, so rerunning a file after a crash or ^C
//     completes it and is cheap.
//   - Bad lines do not stop the run; a failing commit does (the store is failing, e.g. a full
//     disk): the run ends with that error after the lines acknowledged so far.
//   - Allocation per chunk: one allocator actor round trip per chunk (Allocator.AllocateMany:
//     every pin of the chunk from one ranking of the metrics the allocator holds), instead of
//     one per pin.
//   - `state import` keeps its own path: its input is the export format (whole pins with
//     allocations and timestamps, a header with the pin count), its contract is all or
//     nothing (the file is validated and staged before anything is applied), and it runs
//     offline, with no pinset actor; it commits through Store.Apply in chunks of the same
//     size. Sharing the line parser would change one of the two contracts.
//   - Backpressure instead of refusal: before each chunk the service waits until the
//     broadcast queue has room (Deps.Admit), so a file of any length is not refused with
//     "queue is full" half way while the pinset commits faster than gossip drains.
//   - The end says where the batch is held. After its last commit the run waits until the
//     batcher has published every op (Deps.Flush) and then asks the other members to answer
//     once they store this peer's ops up to its last seq (Deps.Replicated: the AppliedRequest
//     RPC, answered by each member's pinset actor when the write that completes it ends), each
//     waited for at most 15 s. The Done event carries held_by of peers. A user moving an archive
//     learns that the whole file is in every pinset, instead of polling the peers; the cost is
//     the replicas' lag behind the receiving peer at the end (about a second on a 200k-pin
//     ingest into 1 of 3 peers on one machine). A run that changed nothing does not ask.
package ingest
