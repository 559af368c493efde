// Package tracker reconciles "pins allocated to this peer" with the IPFS node: it queues pin and
// unpin operations, runs at most concurrent_pins of them at once, retries failures with
// backoff under supervision, and answers status queries.
//
// # Actors
//
//	tracker            trackerActor (tracker_actor.go, supervision.go): owns the table of CIDs in
//	│                  flight, the two queues and the slots; supervises the cid actors
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
//	t, err := tracker.New(parent, tracker.DefaultConfig(), backend, selfID, "peer0", logger)
//	defer t.Stop()
//	err = t.Track(ctx, pin)         // allocated here: queue a pin
//	info, err := t.Status(ctx, pin) // pin_queued, pinning, pinned, pin_error, remote...
//	info, err = t.Recover(ctx, pin) // retry an error and wait for the attempt
//	err = t.Untrack(ctx, pin.Cid)   // no longer allocated: cancel and unpin
package tracker
