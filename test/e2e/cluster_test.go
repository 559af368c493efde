package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startCluster initialises n peers with one secret and starts them, peers 2..n bootstrapped to
// peer 1. env is added to every process (e.g. shorter intervals).
func startCluster(t *testing.T, n int, env []string, perPeer func(i int) []string) ([]*daemon, string) {
	t.Helper()
	work := t.TempDir()
	secret := strings.Repeat("ab", 32)
	env = append([]string{"CLUSTER_SECRET=" + secret}, env...)
	var ds []*daemon
	var addr string
	for i := 1; i <= n; i++ {
		dir := filepath.Join(work, fmt.Sprintf("p%d", i))
		penv := env
		if perPeer != nil {
			penv = append(append([]string{}, env...), perPeer(i)...)
		}
		initDir(t, dir, penv...)
		var args []string
		if i > 1 {
			args = []string{"--bootstrap", addr}
		}
		d := startDaemon(t, dir, penv, args...)
		d.env = penv
		ds = append(ds, d)
		if i == 1 {
			var id struct{ Addresses []string }
			json.Unmarshal([]byte(d.mustCLI("--enc", "json", "id")), &id)
			for _, a := range id.Addresses {
				if strings.Contains(a, "/127.0.0.1/") {
					addr = a
				}
			}
			if addr == "" {
				t.Fatalf("no loopback address for peer 1: %v", id.Addresses)
			}
		}
	}
	// Listing every peer is not enough to allocate: a peer allocates to the peers whose
	// freespace metric it holds, and a test that pins with a replication factor right after
	// the start raced the first metrics.
	waitFor(t, 60*time.Second, "every peer to list all peers and hold their freespace metrics", func() bool {
		for _, d := range ds {
			out := d.cli("--enc", "json", "peers", "ls")
			if out.code != 0 || strings.Count(out.stdout, `"rpc_protocol_version"`) < n {
				return false
			}
			m := d.cli("--enc", "json", "health", "metrics", "freespace")
			if m.code != 0 || strings.Count(m.stdout, `"valid":true`) < n {
				return false
			}
		}
		return true
	})
	return ds, addr
}

type peerMap map[string]struct {
	Status string `json:"status"`
}

func (d *daemon) peerStatuses(cid string) peerMap {
	var g struct {
		PeerMap peerMap `json:"peer_map"`
	}
	r := d.cli("--enc", "json", "status", cid)
	if r.code != 0 {
		return nil
	}
	json.Unmarshal([]byte(r.stdout), &g)
	return g.PeerMap
}

func countStatus(pm peerMap, status string) int {
	n := 0
	for _, p := range pm {
		if p.Status == status {
			n++
		}
	}
	return n
}

// TestClusterThreeDaemons: a pin on one peer is PINNED on all three as seen from another;
// peers rm removes a peer, which shuts down and keeps a backup of its state.
func TestClusterThreeDaemons(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ds, _ := startCluster(t, 3, []string{"CLUSTER_MONITORPINGINTERVAL=1s"}, nil)
	f := writeFile(t, filepath.Join(t.TempDir(), "f.txt"), "cluster e2e "+time.Now().String())
	cid := lastLine(ds[0].mustCLI("add", "-q", f))
	waitFor(t, 60*time.Second, "the CID pinned on all 3 peers (seen from peer 2)", func() bool {
		return countStatus(ds[1].peerStatuses(cid), "pinned") == 3
	})
	// replication 2 places exactly two replicas
	f2 := writeFile(t, filepath.Join(t.TempDir(), "g.txt"), "replicated "+time.Now().String())
	cid2 := lastLine(ds[2].mustCLI("add", "-q", "--replication", "2", f2))
	waitFor(t, 60*time.Second, "two pinned replicas", func() bool {
		pm := ds[0].peerStatuses(cid2)
		return countStatus(pm, "pinned") == 2 && countStatus(pm, "remote") == 1
	})
	if r := ds[0].cli("pin", "add", "--replication", "4", cid2); r.code == 0 {
		t.Fatalf("replication 4 on 3 peers accepted: %s", r)
	}

	// peers rm of peer 3: it stops, keeps a backup, and leaves the listing
	var id struct{ ID string }
	json.Unmarshal([]byte(ds[2].mustCLI("--enc", "json", "id")), &id)
	ds[0].mustCLI("peers", "rm", id.ID)
	select {
	case <-ds[2].done:
	case <-time.After(30 * time.Second):
		t.Fatal("the removed peer did not shut down")
	}
	if entries, _ := os.ReadDir(filepath.Join(ds[2].dir, "backups")); len(entries) == 0 {
		t.Fatalf("the removed peer kept no backup of its state; log: %s", ds[2].log.String())
	}
	if out := ds[0].mustCLI("peers", "ls"); strings.Contains(out, id.ID) {
		t.Fatalf("peers ls still lists the removed peer: %s", out)
	}
	// Started again with the removed identity, it would take pins the cluster refuses: it
	// does not start, and says how to come back.
	r := run(t, ds[2].env, "--config", ds[2].dir, "daemon")
	if r.code == 0 || !strings.Contains(r.stderr, "was removed from the cluster") || !strings.Contains(r.stderr, "pincluster init -f") {
		t.Fatalf("the removed identity started again: %s", r)
	}
}
