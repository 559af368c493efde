package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGlobalStatusDigests: with three daemons, global status answers from the replicas of the
// status digests (every other peer's part carries `updated`), --fresh asks the peers and tells
// the same, and --fresh with --local is refused with one clear line.
func TestGlobalStatusDigests(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ds, _ := startCluster(t, 3, []string{"CLUSTER_MONITORPINGINTERVAL=1s"}, nil)
	f := writeFile(t, filepath.Join(t.TempDir(), "f.txt"), "status digests "+time.Now().String())
	cid := lastLine(ds[0].mustCLI("add", "-q", f))
	type part struct {
		Status  string `json:"status"`
		Updated string `json:"updated"`
	}
	parts := func(args ...string) map[string]part {
		var g struct {
			PeerMap map[string]part `json:"peer_map"`
		}
		r := ds[1].cli(append([]string{"--enc", "json", "status", cid}, args...)...)
		if r.code != 0 {
			return nil
		}
		json.Unmarshal([]byte(r.stdout), &g)
		return g.PeerMap
	}
	pinnedEverywhere := func(pm map[string]part) bool {
		n := 0
		for _, p := range pm {
			if p.Status == "pinned" {
				n++
			}
		}
		return n == 3
	}
	// Until both other peers' first digests arrive, status asks every peer (parts without
	// updated): wait for the replicas' answer.
	withUpdated := func(pm map[string]part) int {
		n := 0
		for _, p := range pm {
			if p.Updated != "" {
				n++
			}
		}
		return n
	}
	waitFor(t, 60*time.Second, "the CID pinned on all 3 peers in peer 2's replicas", func() bool {
		pm := parts()
		return pinnedEverywhere(pm) && withUpdated(pm) == 2
	})
	if pm := parts("--fresh"); !pinnedEverywhere(pm) {
		t.Fatalf("status --fresh: %v", pm)
	}
	// The whole pinset, default and fresh, and the error filter (nothing in error).
	if out := ds[1].mustCLI("status"); strings.Count(out, "PINNED") != 3 {
		t.Fatalf("status: %s", out)
	}
	if out := ds[1].mustCLI("status", "--fresh"); strings.Count(out, "PINNED") != 3 {
		t.Fatalf("status --fresh: %s", out)
	}
	if out := ds[1].mustCLI("status", "--filter", "error"); strings.TrimSpace(out) != "" {
		t.Fatalf("status --filter error: %s", out)
	}
	r := ds[1].cli("status", "--fresh", "--local")
	if r.code == 0 || !strings.Contains(r.stderr, "exclude") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("status --fresh --local: %s", r)
	}
}
