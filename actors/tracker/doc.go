// Package tracker reconciles "pins allocated to this peer" with the IPFS node: it queues pin and
// unpin operations, runs at most concurrent_pins of them at once, retries failures with
// backoff under supervision, and answers status queries.
//
// # Actors
//
//	tracker            trackerActor (tracker_actor.go, supervision.go, window.go): owns the window
//	│                  of CIDs in flight, the two queues and the slots; supervises the cid actors;
//	│                  subscribed to the pinset's PinsetChanged events (reconcile.go)
//	└── cid:<cid>:<n>  cidActor (cid.go): one per CID in flight, runs one pin or unpin
//
// The two queues of DESIGN.md (priority and normal) are data structures owned by the tracker
// actor (queue.go), not actors: they share one pool of slots, priority first, so making them
// actors would only add a slot protocol between siblings. The cid actors are children of the
// tracker, which is their supervisor (trackerActor implements actor.SupervisorStrategy, so a
// failure is handled in the tracker's mailbox with the table at hand): OneForOne, restart after
// an exponential backoff (retry_backoff_min doubling to retry_backoff_max, a scheduled retryDue
// message), the attempt count kept in the tracker's table, and after priority_pin_max_retries
// attempts the actor is stopped, the item stays pin_error/unpin_error and is retried only by
// Recover or RecoverAll (and then from the normal queue). A slot stays taken while its actor
// waits for a restart. Between attempts the item shows pin_error/unpin_error with the last
// error and the attempt count; Recover and RecoverAll end a pending backoff at once.
//
// # Bounded memory: a window over a durable queue
//
// Every pending operation (pin or unpin) is an entry of a durable queue in the pinset's Badger
// database (persistence's tq/ keys: FIFO entries keyed by a sequence number, a CID index, a
// failed set and a counter, see persistence/trackqueue.go). The tracker actor holds only a
// window of it in memory, at most queue_window queued or running items (10,000 by default,
// about 300 bytes each), and pages the next entries in, in queue order, as slots free up. The
// Badger I/O runs in workers that report back by message: one long-lived writer goroutine
// group-commits the queue changes (queueWritten), and one page read at a time (queuePaged)
// is a prefix scan from the last sequence number loaded. So the tracker's memory is bounded by
// configuration, not by the pinset or the queue.
//
// Decisions:
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
//     new CID when full, in the write itself, so the bound holds however many requests race.
//   - A settled item (pinned, unpinned) stays in the window as "settling" until its entry is
//     deleted, and a failed item (gave up) until it is moved to the failed set: Status never
//     finds a CID in neither place. A page read that started before such a delete may still
//     return the entry; CIDs evicted while a page is read are skipped.
//   - Failed items leave memory: their entry (attempts, error, queue) lives in the failed
//     set, Status reads it there, Recover brings the item back with its attempts, RecoverAll
//     moves the whole set back to the queue's tail (downgraded by the queue rules).
//   - The tracker actor restarts as a fresh instance (a panic, the test fault hook): its
//     window is rebuilt from the queue's head; the cid actors of the crashed instance are
//     stopped first (protoactor restarts a parent once its children are gone).
//
// Queued items are compact structs; an actor exists only while its CID is running or retrying.
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
