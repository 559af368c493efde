// Package informer holds the informer actor: it publishes this peer's metrics (freespace,
// pinqueue, numpin, ping with the peer's addresses, one tag:NAME per tag; monitor.Collect) on
// the metrics topic and sends them to this peer's own subscribers (the monitor and the
// allocator) as messages.MetricReceived.
//
// Decisions:
//   - Timers are scheduled messages (time.AfterFunc that sends): a publish at start, a few more
//     in the first seconds (gossipsub meshes form within a heartbeat or two; never later than
//     the interval, or the ping would expire), then every monitor_ping_interval; PublishSoon
//     (a new connection) publishes one second later, once gossipsub grafted the newcomer.
//   - Collecting reads the IPFS repo and the store: an I/O worker does it, and the publish,
//     and reports back with a message. One collection runs at a time; ticks meanwhile
//     coalesce into one more.
//   - This peer's metrics reach its own monitor and allocator by message, not through the
//     topic (pubsub's local delivery is asynchronous, and the peer needs its own metrics known
//     before it serves: PublishNow waits for that).
//   - A restarted instance keeps nothing: it publishes at once and schedules its timers again.
//
// # Usage
//
//	inf, err := informer.Spawn(parent, informer.Deps{Self: id, Source: src, Topic: topic,
//		Subscribers: []*actor.PID{mon.PID(), alloc.PID()}, Interval: 15 * time.Second}, log)
//	err = inf.PublishNow(ctx) // own metrics known locally when it returns
//	inf.PublishSoon()         // on a new connection
package informer
