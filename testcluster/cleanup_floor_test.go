package testcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/offlinestate"
)

// A peer cleaned with state cleanup numbers its new ops after its old ones, which the others
// hold, so they take its new pins; also with one trusted writer and followers (the README's
// setup), whose store records no member for the followers. (Review: the writer wrote no
// own-seq there, numbered from 1 again, and the followers dropped its new pins for good.)
func TestCleanedPeerNumbersAfterItsOldOps(t *testing.T) {
	for _, sole := range []bool{false, true} {
		t.Run(fmt.Sprintf("sole_trusted=%v", sole), func(t *testing.T) { cleanedPeerNumbersAfter(t, sole) })
	}
}

func cleanedPeerNumbersAfter(t *testing.T, sole bool) {
	var ids []identity.Identity
	for range 3 {
		id, err := identity.New()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	c := New(t, 3, WithIdentities(ids...), WithConfig(func(i int, cfg *servicejson.Config) {
		if sole {
			cfg.Consensus.CRDT.TrustedPeers = []string{ids[0].ID.String()}
		}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pinAll := func(prefix string, n int) (out []api.Cid) {
		for k := range n {
			cid := Cid(fmt.Sprintf("%s-%d", prefix, k))
			if _, err := c.Peer(0).Pin(ctx, cid, api.PinOptions{}); err != nil {
				t.Fatal(err)
			}
			out = append(out, cid)
		}
		return out
	}
	heldBy12 := func(cids []api.Cid) func() bool {
		return func() bool {
			for _, i := range []int{1, 2} {
				for _, cid := range cids {
					if !c.HasPin(i, cid) {
						return false
					}
				}
			}
			return true
		}
	}
	old := pinAll("old", 5)
	c.WaitFor(heldBy12(old), 30*time.Second, "followers hold the writer's first pins")
	for range 2 { // collection rounds: mb/ as the daemon leaves it
		if err := c.Peer(0).CollectNow(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c.Stop(0)
	dir := c.Dir(0)
	if err := c.Config(0).Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := ids[0].Save(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := offlinestate.Cleanup(dir, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, offlinestate.OwnFloorFile)); err != nil {
		t.Errorf("no %s after cleanup: %v", offlinestate.OwnFloorFile, err)
	}
	c.Start(0)
	fresh := pinAll("new", 3)
	c.WaitFor(heldBy12(fresh), 30*time.Second, "followers hold the pins the writer made after state cleanup")
}
