// Package fake is an in-memory ipfs.Backend for tests, with fault injection: pins of chosen CIDs
// fail (always or n times), stall until released or cancelled, or progress slowly block by block;
// unpins fail; a pin can be removed behind the cluster's back (RemovePin) to produce
// unexpectedly_unpinned. Counters report how often Pin and Unpin were called per CID.
//
//	b := fake.New()
//	b.FailPinTimes(c, 2, errors.New("no providers"))
//	b.StallPin(other)          // Pin(other) blocks until ctx is done or b.Release(other)
//	b.SlowPin(big, 10, 5*time.Millisecond)
//
// Add stores fake CIDs computed from content (sha256, raw, CIDv1) and ImportCAR reads real CARs
// (go-car/v2) in memory. Nothing touches disk or the network.
package fake
