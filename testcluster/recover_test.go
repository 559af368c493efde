package testcluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
)

// TestRecoverAllReachesOtherPeers: a pin in error on peer 2 is retried by `recover` (all,
// not local) issued on peer 0, and the outcome from peer 2 is streamed back.
func TestRecoverAllReachesOtherPeers(t *testing.T) {
	c := New(t, 3, WithConfig(func(_ int, cfg *servicejson.Config) {
		cfg.Tracker.PriorityPinMaxRetries = 0 // no automatic retries: only recover fixes it
	}))
	cid := Cid("recover-remote")
	c.Fake(2).FailPin(cid, errors.New("ipfs is down"))
	if _, err := c.Peer(0).Pin(context.Background(), cid, api.PinOptions{}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(func() bool { return c.LocalStatus(2, cid) == api.TrackerStatusPinError }, 20*time.Second, "pin_error on peer 2")
	c.Fake(2).Heal(cid)
	seen := false
	err := c.Peer(0).RecoverAll(context.Background(), false, func(g api.GlobalPinInfo) error {
		if pi, ok := g.PeerMap[c.ID(2).String()]; ok && g.Cid == cid && pi.Status == api.TrackerStatusPinned {
			seen = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Fatal("recover on peer 0 did not report peer 2's item pinned")
	}
	if got := c.LocalStatus(2, cid); got != api.TrackerStatusPinned {
		t.Fatalf("peer 2 status after recover: %s", got)
	}
}
