// Package monitor keeps the latest metric of every peer and name, tells which peers are alive
// and raises alerts when metrics expire (self-healing starts from those alerts).
//
// A metric is valid until its Expire (unix ns, set by the publishing peer). The monitor actor
// checks for expiry every check_interval (at least every second); when a metric expired without
// being renewed it records one api.Alert and calls the onAlert callback, and stays quiet for it
// until a fresh metric of that name from that peer arrives. An alert on "ping" means the peer
// is down. Collect (informer.go) builds this peer's own metrics: freespace, pinqueue, numpin,
// ping and one "tag:NAME" per configured tag.
//
// # Usage
//
//	alerts := make(chan api.Alert, 1024)
//	mon, err := monitor.Spawn(system, self, monitor.Default(), func(a api.Alert) {
//		select { case alerts <- a: default: } // never block the actor
//	}, logger)
//	for _, m := range monitor.Collect(time.Now(), self, informerCfg, free, queued, pinned, 30*time.Second) {
//		mon.Publish(m) // and publish on the metrics topic
//	}
//	candidates, err := mon.LatestAll(ctx) // for the allocator
package monitor
