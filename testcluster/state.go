package testcluster

import (
	"context"
	"maps"
	"slices"
	"time"

	gocid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
)

// Cid is a deterministic raw CIDv1 derived from s, for tests.
func Cid(s string) api.Cid {
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

// PinSet is peer i's pinset as the stored JSON of each pin, in key order (nil if i is
// stopped). Equal PinSets mean byte-identical pinsets.
func (c *Cluster) PinSet(i int) []string {
	p := c.Peer(i)
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := []string{}
	if err := p.PinsJSON(ctx, func(b []byte) error { out = append(out, string(b)); return nil }); err != nil {
		return nil
	}
	return out
}

// Converged reports whether every running peer holds the same pinset, byte for byte.
func (c *Cluster) Converged() bool {
	running := c.Running()
	if len(running) == 0 {
		return true
	}
	first := c.PinSet(running[0])
	if first == nil {
		return false
	}
	for _, i := range running[1:] {
		if !slices.Equal(first, c.PinSet(i)) {
			return false
		}
	}
	return true
}

// Quiescent reports whether every running peer holds every op of every other (equal version
// vectors) and has none waiting to broadcast: nothing in flight can change a pinset any more,
// so a pinset seen now is final until a new change.
func (c *Cluster) Quiescent() bool {
	running := c.Running()
	if len(running) == 0 {
		return true
	}
	first := c.Probe(running[0]).VersionVector()
	if first == nil {
		return false
	}
	for _, i := range running {
		vv := c.Probe(i).VersionVector()
		if vv == nil || !maps.Equal(first, vv) || c.Probe(i).PendingBroadcast() > 0 {
			return false
		}
	}
	return true
}

// HasPin reports whether peer i's pinset holds cid.
func (c *Cluster) HasPin(i int, cid api.Cid) bool {
	p := c.Peer(i)
	if p == nil {
		return false
	}
	_, err := p.PinGet(context.Background(), cid)
	return err == nil
}

// GetPin is peer i's pin of cid and whether it holds one.
func (c *Cluster) GetPin(i int, cid api.Cid) (api.Pin, bool) {
	p := c.Peer(i)
	if p == nil {
		return api.Pin{}, false
	}
	pin, err := p.PinGet(context.Background(), cid)
	return pin, err == nil
}

// CountPins is the size of peer i's pinset (-1 if i is stopped).
func (c *Cluster) CountPins(i int) int {
	p := c.Peer(i)
	if p == nil {
		return -1
	}
	n, err := c.Probe(i).CountPins()
	if err != nil {
		return -1
	}
	return n
}

// LocalStatus is peer i's own tracker status of cid ("" if i is stopped or on error).
func (c *Cluster) LocalStatus(i int, cid api.Cid) api.TrackerStatus {
	p := c.Peer(i)
	if p == nil {
		return 0
	}
	g, err := p.Status(context.Background(), cid, true)
	if err != nil {
		return 0
	}
	return g.PeerMap[c.ID(i).String()].Status
}
