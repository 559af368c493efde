// Package tracker reconciles "pins allocated to this peer" with the IPFS node: it queues pin and
// unpin operations, runs at most concurrent_pins of them at once, retries failures with
// backoff under supervision, and answers status queries.
//
// # Actors
//
//	tracker                trackerActor (tracker_actor.go, slots.go, window.go, supervision.go):
//	│                      the table of the window (status answers), the durable queue, the pool
//	│                      of concurrent_pins slots; supervises the three queue actors;
//	│                      subscribed to the pinset's PinsetChanged events (reconcile.go)
//	├── queue:express      queueActor (queue.go, queue_supervision.go): the FIFO of the pins of
//	│   └── cid:<cid>:<n>  roots just pushed here (express.go); parent and supervisor of the cid
//	│                      actors it runs; served first, with one slot beyond concurrent_pins
//	├── queue:priority     queueActor, the same for the priority queue
//	│   └── cid:<cid>:<n>
//	└── queue:normal       queueActor, the same for the normal queue
//	    └── cid:<cid>:<n>  cidActor (cid.go): one per CID in flight, runs one pin or unpin
//
// Who owns what:
//   - The tracker owns every item of the window (phase, attempts, last error, queue, Recover
//     waiters: what Status, InFlight and Recover read), the durable queue and its writer and
//     page reader, and the slot pool. It decides the queue of an item by the queue rules
//     (rules.go) and hands it to that queue actor; it writes every outcome to the durable queue.
//   - A queue actor owns the FIFO of the items handed to it (compact qitems, in order), the
//     runs it started (cid actor, attempt count, backoff) and the retry decisions: it is the
//     parent and supervisor (actor.SupervisorStrategy) of its cid actors, so a failed attempt is
//     handled in its mailbox with the run at hand: OneForOne, restart after an exponential
//     backoff (retry_backoff_min doubling to retry_backoff_max, a scheduled retryDue) in the same
//     slot; after priority_pin_max_retries attempts the actor is stopped and the item gives up
//     (pin_error/unpin_error, durable failed set, retried only by Recover or RecoverAll, which
//     re-queue it by the queue rules: the normal queue past the retries).
//   - Demotion: a pin of the priority queue actor whose attempt fails when the queue rules no
//     longer put it there (older than priority_pin_max_age by now) leaves its slot and the
//     priority queue (attemptFailed with stepDemote, then runEnded); the tracker hands it to the
//     normal queue actor after the backoff, with its attempts and last error, and it retries
//     there. Between attempts an item shows pin_error/unpin_error with the last error and the
//     attempt count; Recover and RecoverAll end a pending backoff at once.
//
// # The slot protocol
//
// Slots are one shared pool, priority queue first (as the seed and IPFS Cluster do), and the
// tracker grants them: it knows how many items each queue actor has waiting (it handed them)
// and how many slots are taken (granted and not answered, or holding a run), so after every
// message it grants the free slots to the express queue actor (express.go: the pins of roots
// a cluster add just pushed here, with one slot more than the pool), then to the priority
// queue actor up to its waiting items, then to the normal one (slotGrant{n}). A queue actor
// starts at most n items, oldest first, and answers slotsTaken (the items started, the grants
// it had no item for); each started item holds its slot until the queue actor reports
// runEnded, once its cid actor has terminated, so no more than concurrent_pins cid actors (and
// one express one) live at once. One shortcut: when a run of the express or priority queue
// actor ends and its FIFO is not empty, it starts the next item in the same slot and says so
// in runEnded (handedOver): the priority queue is served first anyway, and this
// saves a grant round trip per pin in the common case. The normal queue actor always gives
// its slots back. Offering rather than asking keeps one decision point for "priority first"
// and needs no demand bookkeeping in the queue actors.
// Items travel in batches: everything handed to a queue actor while the tracker handles one
// message goes in one queueItems. Reports: slotsTaken, attemptStarted (a retry's restart),
// attemptFailed (attempts, error, next step), runEnded (done, gave up, demoted, cancelled,
// dropped). A new operation on a CID whose hand-off is queued or running (Track/Untrack)
// withdraws it (cancelRun: out of the FIFO, or cancelled and drained) and is handed once
// runEnded says it is over, so a pin and an unpin of one CID never overlap; a hand-off not sent
// yet (made while handling the same message) is simply taken back, so a cancelRun never
// overtakes the item it cancels.
//
// Restarts: every message carries the epoch of the queue actor's instance (its incarnation
// number). A queue actor that crashes (a panic; the test hook queueFaultHook) is restarted at
// once by the tracker, as a fresh, empty instance after its cid actors were stopped; it says
// queueStarted, and the tracker takes back the slots of the crashed instance and hands the
// fresh one every item it held (queued, running or retrying: queued again with their attempts,
// in queue order). Nothing it was given is lost, and what was sent to or by the crashed
// instance is ignored. Past 10 crashes in a minute the failure is escalated: the tracker
// restarts and rebuilds from the durable queue.
//
// Why actors: each queue supervises its own cid actors and decides their retries and
// demotion, so the tracker's mailbox carries one message per slot grant batch and per outcome
// instead of every cid actor's lifecycle; the cost is the slot protocol above.

// # Bounded memory: a window over a durable queue
//
// Every pending operation (pin or unpin) is an entry of a durable queue in the pinset's Badger
// database (persistence's tq/ keys: FIFO entries keyed by a sequence number, a CID index, a
// failed set and a counter, see persistence/trackqueue.go). The tracker actor holds only a
// window of it in memory, at most queue_window queued or running items (20,000 by default,
// about 300 bytes each, plus a qitem of about 100 bytes in a queue actor's FIFO while
// queued; 100,000 held 30 MB of heap with 1M pins queued and ingested no faster: only
// concurrent_pins of them run at once, and a page read refills the window long before it
// drains), and pages the next entries in, in queue order, as slots free up. The
// Badger I/O runs in workers that report back by message: one long-lived writer goroutine
// group-commits the queue changes (queueWritten), and one page read at a time (queuePaged)
// is a prefix scan from the last sequence number loaded. So the tracker's memory is bounded by
// configuration, not by the pinset or the queue.
//
// A bulk change (a batch ingest, or a replica applying one) does not go through Badger CID by
// CID: what the window has no room for is written as batch entries of a few hundred CIDs,
// decided only when paged in (batch.go).
//
// Decisions:
//   - Memory first: a CID the window does not hold goes straight into the window, in memory
//     only, while the window has room and nothing waits in the durable queue (no entry, no put
//     on its way), so FIFO order holds. Such an item costs no queue write unless its operation
//     changes hands (switchOp, recover: then it is written) or it gives up (the failed set);
//     its settling still deletes a possible failed entry. Only the overflow beyond the window
//     goes through Badger. A tracker that restarts loses the memory-only items and asks the
//     healer for a state sync (messages.StateSyncWanted, Tracker.NotifyRestarts), which tracks
//     them again from the pinset; a process restart has its startup sync. max_pin_queue_size
//     counts the memory-only items and the durable queue together.
//   - The queue is the tracker's own, written by the tracker, not an index the pinset actor
//     writes in its op's transaction: whether an op concerns this peer (allocations) and what
//     the tracker does with it (pin, unpin, retry, give up) are the tracker's rules, and the
//     pinset store stays ignorant of them. The cost is a window between a pinset commit and
//     the queue write in which a crash loses the pending work; the startup state sync
//     re-derives it from the pinset, as it did for the in-memory queue before.
//   - A CID is in the window (items) or only in the queue. Track/Untrack of a CID in the
//     window change it in memory (and record the new operation in the queue); of any other
//     CID they only put an entry in the queue and answer once that is durable, so a pin the
//     facade acknowledged is visible to Status (pin_queued, read from Badger) at once.
//   - Admission control (max_pin_queue_size) counts the durable queue: the queue refuses a
//     new CID's pin when full, in the write itself, so the bound holds however many requests
//     race. Unpin ops are never refused, since a refused unpin of a CID whose tombstone is
//     then collected would leave it pinned on the node for good (Held). Single unpins are
//     bounded by the CIDs (one entry each); a bulk change's unpins beyond the window go in
//     batch entries, which are not deduplicated, so churn on the same CIDs while the queue is
//     full grows it by one item per unpin event. A pin moved away from this peer is an unpin
//     here but a pin op: refused when full, it is left to the state sync (its record is live,
//     so its tombstone question does not arise).
//   - A settled item (pinned, unpinned) stays in the window as "settling" until its entry is
//     deleted, and a failed item (gave up) until it is moved to the failed set: Status never
//     finds a CID in neither place. A page read that started before such a delete may still
//     return the entry; CIDs evicted while a page is read are skipped.
//   - Failed items leave memory: their entry (attempts, error, queue) lives in the failed
//     set, Status reads it there, Recover brings the item back with its attempts, RecoverAll
//     moves the whole set back to the queue's tail (downgraded by the queue rules).
//   - The tracker actor restarts as a fresh instance (a panic, the test fault hook): its
//     window is rebuilt from the queue's head; its queue actors and their cid actors are
//     stopped first (protoactor restarts a parent once its children are gone) and spawned
//     again by the fresh instance.
//
// # What is unpinned
//
// Only what the cluster may have pinned on this node. An unpin, or a pin allocated
// elsewhere, is untracked (as in IPFS Cluster, a CID the pinset holds is the cluster's), but
// not an unheld unpin (messages.PinsetChanged.Unheld, crdt.Unheld) of a CID the window does
// not hold: a tombstone that came where this peer held no live record of the CID (in a
// snapshot, or in ops whose pin this peer never saw), or such a tombstone pruned. The cluster
// never pinned that CID here, so the node's pin of it is the operator's, and `pin rm` would
// take it away. A tombstone over a live record is held whatever that record's allocations:
// the tracker unpins its CID, or after a crash the state sync does (actors/healer), which
// reads the mark too (persistence.Record.Unheld). In the window, an unheld unpin still
// cancels the operation in flight, which the cluster started. Likewise a pin allocated
// elsewhere that made its CID's first record here (crdt.Created: a fresh peer loading the
// pinset, in the window or through a batch entry, which carries the flag) is not untracked
// unless the window holds the CID: a fresh peer of a cluster that replicates each pin on a
// few peers sent one `pin rm` per pin of the others. The state sync still unpins such a CID
// when the node holds it (a live record allocated elsewhere, as in IPFS Cluster): that is
// also what repairs an unpin lost in a crash. Only a pin the node never held is spared.
// Trade-offs: a peer whose pinset lost its records while its node kept the cluster's pins
// (state cleanup) keeps on the node those whose tombstones then come in a snapshot, as it
// keeps those whose tombstones were collected meanwhile; and a pin the operator made by hand
// before the cluster pinned the same CID here is the cluster's from then on (nothing tells
// the two apart).
//
// Queued items are compact structs (an item in the tracker, a qitem in its queue actor's
// FIFO, both bounded by the window); a cid actor exists only while its CID is running or
// retrying.
// A settled CID (pinned, unpinned) has no entry at all, so millions of pins cost nothing here.
// IPFS calls run in goroutines under a context (cancelled on Stop, on CancelOperation and on
// restart); a pin times out when no block arrived for pin_timeout (ipfs.PinProgress pushes the
// deadline back), an unpin after unpin_timeout. The deadline is the cid actor's (a scheduled
// message), so an attempt fails on time even when the backend does not return from its
// cancelled call: "pinning" always means an attempt is in progress. An operation cancelled by Track/Untrack drains before the next operation on
// the same CID starts, so a pin and an unpin of one CID never overlap.
//
// # Usage
//
//	t, err := tracker.New(parent, tracker.DefaultConfig(), backend, store, selfID, "peer0", logger)
//	pinset.Subscribe(t.PID())      // PinsetChanged events: track what is allocated here
//	defer t.Stop()
//	err = t.Track(ctx, pin)         // allocated here: queue a pin
//	info, err := t.Status(ctx, pin) // pin_queued, pinning, pinned, pin_error, remote...
//	info, err = t.Recover(ctx, pin) // retry an error and wait for the attempt
//	err = t.Untrack(ctx, pin.Cid)   // no longer allocated: cancel and unpin
package tracker
