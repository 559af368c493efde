// Package monitor keeps the latest metric of every peer and name, tells which peers are alive
// and raises alerts when metrics expire (self-healing starts from those alerts).
//
// A metric is valid until its Expire (unix ns, set by the publishing peer). The monitor actor
// checks for expiry on a scheduled message every check_interval (at least every second); when a
// metric expired without being renewed it records one api.Alert, sends messages.AlertRaised to
// its subscriber PIDs, and stays quiet for it until a fresh metric of that name from that peer
// arrives. An expired "ping" means the peer is down: subscribers also get messages.PeerDown,
// and messages.PeerUp when its ping is valid again. No callbacks: the healer subscribes. Collect (informer.go) builds this peer's own metrics: freespace, pinqueue, numpin,
// ping and one "tag:NAME" per configured tag.
//
// # Usage
//
//	mon, err := monitor.Spawn(parent, self, monitor.Default(), logger)
//	mon.Subscribe(healerPID) // AlertRaised, PeerDown, PeerUp
//	mon.Publish(m)                   // a metric from the topic (the informer sends its own by message)
//	live, err := mon.LivePeers(ctx)
package monitor
