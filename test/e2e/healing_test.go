package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestSelfHealingFiveDaemons: five peers in three tag groups; replication 2 and 3 spread across
// groups; a killed peer's pins move to healthy peers; when it returns it unpins what moved.
func TestSelfHealingFiveDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	groups := []string{"a", "a", "b", "b", "c"}
	ds, addr := startCluster(t, 5, []string{"CLUSTER_MONITORPINGINTERVAL=1s", "CLUSTER_METRIC_TTL=3s"}, func(i int) []string {
		return []string{"CLUSTER_TAGS=group=" + groups[i-1]}
	})
	ids := map[string]int{}
	for i, d := range ds {
		var id struct{ ID string }
		json.Unmarshal([]byte(d.mustCLI("--enc", "json", "id")), &id)
		ids[id.ID] = i
	}
	waitFor(t, 30*time.Second, "freespace metrics of 5 peers", func() bool {
		r := ds[0].cli("--enc", "json", "health", "metrics", "freespace")
		var n int
		for _, c := range r.stdout {
			if c == '\n' {
				n++
			}
		}
		return r.code == 0 && n >= 5
	})
	work := t.TempDir()
	var cids []string
	for i := 0; i < 6; i++ {
		rep := []string{"2", "3"}[i%2]
		f := writeFile(t, filepath.Join(work, fmt.Sprintf("h%d", i)), fmt.Sprintf("healing %d %d", i, time.Now().UnixNano()))
		cids = append(cids, lastLine(ds[0].mustCLI("add", "-q", "--replication", rep, f)))
	}
	allocs := func(d *daemon, cid string) []string {
		var pin struct{ Allocations []string }
		json.Unmarshal([]byte(d.mustCLI("--enc", "json", "pin", "ls", cid)), &pin)
		return pin.Allocations
	}
	// spread: replication 2 and 3 never put two replicas in one group when groups remain
	for i, c := range cids {
		seen := map[string]bool{}
		for _, a := range allocs(ds[0], c) {
			g := groups[ids[a]]
			if seen[g] {
				t.Fatalf("pin %d (%s) has two replicas in group %s: %v", i, c, g, allocs(ds[0], c))
			}
			seen[g] = true
		}
	}
	// pick a victim that holds at least one pin and is not peer 1 (the bootstrap peer)
	victim := -1
	for _, c := range cids {
		for _, a := range allocs(ds[0], c) {
			if ids[a] != 0 {
				victim = ids[a]
			}
		}
	}
	if victim < 0 {
		t.Fatal("no pin allocated outside peer 1")
	}
	var victimID string
	for id, i := range ids {
		if i == victim {
			victimID = id
		}
	}
	for _, c := range cids {
		waitFor(t, 60*time.Second, "pins PINNED before the kill", func() bool {
			return countStatus(ds[0].peerStatuses(c), "pinned") == len(allocs(ds[0], c))
		})
	}
	ds[victim].kill()
	waitFor(t, 60*time.Second, "the victim's pins reallocated and PINNED elsewhere", func() bool {
		for _, c := range cids {
			as := allocs(ds[0], c)
			for _, a := range as {
				if a == victimID {
					return false
				}
			}
			if countStatus(ds[0].peerStatuses(c), "pinned") < len(as) {
				return false
			}
		}
		return true
	})
	// the victim returns and unpins what moved away
	back := startDaemon(t, ds[victim].dir, ds[victim].env, "--bootstrap", addr)
	waitFor(t, 60*time.Second, "the returning peer to unpin what moved", func() bool {
		for _, c := range cids {
			var g struct {
				PeerMap map[string]struct{ Status string } `json:"peer_map"`
			}
			r := back.cli("--enc", "json", "status", "--local", c)
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &g) != nil {
				return false
			}
			if st := g.PeerMap[victimID].Status; st != "remote" {
				return false
			}
		}
		return true
	})
}
