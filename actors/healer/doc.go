// Package healer holds the healer actor: the peer's self-healing. It receives PeerDown from
// the monitor, PeerRemoved from the peer, and its own scheduled ticks, and
//   - repins: reallocates the pins that fall under replication_factor_min because a peer is
//     down or removed (on PeerDown for that peer's pins; on each sweep for every pin, which
//     retries what an earlier run could not place). Only the live member with the lowest peer
//     ID does it, so one peer commits each change instead of every peer racing to; the others
//     see the result through the pinset. Followers and untrusted peers take no part in that
//     choice (Deps.Voters): their commits would be refused. Repinning is off with cluster.disable_repinning.
//   - syncs state, at start (re-deriving the tracker's work after a restart) and every
//     state_sync_interval: expired pins are unpinned, pins allocated here that the IPFS node
//     lacks are tracked, IPFS pins the pinset removed or moved away are untracked (a CID the
//     pinset has no record of is never touched: it may be the operator's own pin; nor is one
//     whose record is an unheld tombstone, which this peer holds over no live record of its
//     own, persistence.Record.Unheld: the cluster never pinned it here);
//   - recovers: re-queues the tracker's errored items every pin_recover_interval.
//
// Decisions:
//   - The work (Badger scans, IPFS calls, commits) runs in one I/O worker at a time that
//     reports back by message; requests that arrive meanwhile are queued (a set of down peers,
//     a pending sweep), so two runs never commit competing changes. Recovery runs in its own
//     worker (it only talks to the tracker).
//   - The sweep's repin waits until the peer has run for 6 ping intervals (Deps.Settle): right
//     after a start too few peers look alive and every pin would look under-replicated.
//   - A peer that sees no other live peer when it is to repin repins nothing, and waits Settle
//     again before it does: it may be the one cut off (a partition, a paused process), and
//     its repins, committed with fresh timestamps, would win over the unpins the others
//     acknowledged meanwhile. The down peers it skipped wait; those back meanwhile keep their
//     pins. A cluster of one never repins, as before (there is nowhere to move a pin).
//   - Repins and expiry unpins are conditional changes (messages.Change.After, crdt.Rank):
//     made from the record the pass read, they lose to any change made to the CID since.
//     The majority side of a partition repins the cut-off peer's pins; an unpin that peer
//     acknowledged meanwhile must win when the partition heals, and with a fresh timestamp
//     the repin won. The pinset drops a change whose record has moved on before it is
//     written (it is missing from the commit's ops); the next pass judges the CID again.
//   - A restarted instance keeps nothing: it syncs at once and schedules its ticks again; a
//     PeerDown lost in a crash is covered by the next sweep.
//   - The passes read the stored JSON and decode only the pins they may act on (elsewhere,
//     mayRepin): a pin pinned everywhere, or one that names no dead peer, is ruled out by
//     its bytes. At 10M pins a full decode cost 40 s of CPU per pass.
//   - A sweep's repin rides on its state sync's pass over the pinset (a repinner offered each
//     pin); only a repin for dead peers has a pass of its own.
//
// # Usage
//
//	h, err := healer.Spawn(parent, healer.Deps{...}, log)
//	mon.Subscribe(h.PID()) // PeerDown
package healer
