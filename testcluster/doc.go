// Package testcluster runs several pincluster peers in one process, over real libp2p hosts on
// loopback (private network, shared secret), each with its own Badger store in a temp dir and,
// by default, an in-memory IPFS backend from ipfs/fake (pins complete at once; faults can be
// injected). It is the multi-peer harness of the cluster tests (STYLE.md #11), in the manner of
// raft's MakeCluster and IPFS Cluster's createClusters.
//
//	c := testcluster.New(t, 3, testcluster.WithConfig(func(i int, cfg *servicejson.Config) {
//		cfg.Cluster.DisableRepinning = false
//	}))
//	pin, err := c.Peer(0).Pin(ctx, cid, api.PinOptions{})
//	c.WaitFor(func() bool { return c.HasPin(2, cid) }, 10*time.Second, "pin reaches peer 2")
//	c.Partition(2)     // peer 2 on one side, peers 0 and 1 on the other
//	c.Heal()
//	c.Kill(1)          // abrupt stop (see Kill)
//	c.Restart(1)       // same dir, identity, port and IPFS backend
//
// Intervals are short (ping 1s, anti-entropy 500ms, state sync 2s, batches of 64 ops or 50ms), so
// alerts fire within about two seconds of a peer's death. Every peer is closed by t.Cleanup.
// Logs (info level and up) are kept in memory and printed only when the test fails; set
// TESTCLUSTER_LOG=1 to stream them to stderr instead.
//
// Tests wait on conditions (WaitFor polls until a deadline), never on sleeps. Consistently checks
// that a condition holds for a bounded window, for the "this must never happen" assertions.
package testcluster
