// Package root is the peer's root supervisor: the one actor the peer spawns itself. Every
// long-lived actor (pinset, tracker, batcher, syncer, collector, allocator, informer, monitor,
// healer, membership, antientropy, gossip, rpc) is its child, spawned through Root.SpawnNamed
// (the Parent its facade is given).
//
// Decisions:
//   - OneForOne with backoff: a child that panics is restarted alone, after a delay that doubles
//     with each failure inside Config.Window (from Config.MinBackoff up to Config.MaxBackoff), so
//     a child failing on every message does not spin. Its mailbox is suspended meanwhile:
//     messages wait, none is lost. A child is never stopped for failing too often: a peer
//     without its pinset is worse than one retrying it.
//   - A restart is a fresh instance: protoactor calls the child's Props producer again, and every
//     producer builds a new value from its construction arguments, so state comes back from
//     Badger and from messages, never from the crashed instance's fields.
//   - The strategy is the root actor itself (as actors/tracker does), so it counts restarts per
//     child (ChildrenRequest, for tests and introspection).
//   - Other peers address some children (rpc, syncer) by a bare name that is on the wire: the
//     root registers each child's process under its bare name too (or the alias given to
//     SpawnAliased), so the name other peers and older versions send to stays valid although
//     the child's own ID is "<root>/<name>". Two children cannot share a name.
//   - The children's mailboxes run on workers that wait for the next run (dispatcher.go)
//     instead of on a new goroutine per run, as protoactor's default does: the hot handlers
//     reach deep into Badger, and growing each new goroutine's stack cost 6.5% of a daemon's
//     CPU. A run never waits for a worker (one is started when none waits), and idle workers
//     end after 10 s.
//   - Timers are scheduled messages (time.AfterFunc that sends, or supervisor.RestartChildren):
//     protoactor's scheduler package races between its cancel func and its timer goroutine.
//
// # Usage
//
//	r, err := root.Spawn(system, root.Config{}, log)
//	mon, err := monitor.Spawn(r, self, cfg, log) // the monitor is r's child
//	...
//	r.Stop() // stops the children in reverse order of spawn
package root
