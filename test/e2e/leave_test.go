package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLeaveOnShutdown: a peer with cluster.leave_on_shutdown removes itself when it gets
// SIGTERM, as `peers rm` would: the others stop listing it (and do not bring it back by
// redialing it), and it keeps a backup of its state. A peer without the key that stops is
// still a member (it is only down).
func TestLeaveOnShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ds, _ := startCluster(t, 3, []string{"CLUSTER_MONITORPINGINTERVAL=1s"}, func(i int) []string {
		if i == 3 {
			return []string{"CLUSTER_LEAVE_ON_SHUTDOWN=true"}
		}
		return nil
	})
	f := writeFile(t, filepath.Join(t.TempDir(), "f.txt"), "leave e2e "+time.Now().String())
	cid := lastLine(ds[0].mustCLI("add", "-q", f))
	waitFor(t, 60*time.Second, "the CID pinned on all 3 peers", func() bool {
		return countStatus(ds[1].peerStatuses(cid), "pinned") == 3
	})
	var id struct{ ID string }
	json.Unmarshal([]byte(ds[2].mustCLI("--enc", "json", "id")), &id)

	ds[2].stop()
	if !strings.Contains(ds[2].log.String(), "other members forgot this peer") {
		t.Fatalf("the leaving peer did not confirm its removal; log: %s", ds[2].log.String())
	}
	if entries, _ := os.ReadDir(filepath.Join(ds[2].dir, "backups")); len(entries) == 0 {
		t.Fatalf("the peer that left kept no backup of its state; log: %s", ds[2].log.String())
	}
	for _, d := range ds[:2] {
		if out := d.mustCLI("peers", "ls"); strings.Contains(out, id.ID) {
			t.Fatalf("peers ls still lists the peer that left: %s", out)
		}
	}
	// Past two ping intervals and a redial backoff, the peer that left is still gone: nobody
	// redialed it or kept its metrics alive, and status does not wait for it.
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		for _, d := range ds[:2] {
			if out := d.mustCLI("peers", "ls"); strings.Contains(out, id.ID) {
				t.Fatalf("the peer that left is listed again: %s", out)
			}
		}
		if pm := ds[0].peerStatuses(cid); len(pm) != 2 {
			t.Fatalf("status of %s lists %d peers, want the 2 members: %v", cid, len(pm), pm)
		}
	}

	// A plain stop (no leave_on_shutdown) leaves the member in the cluster.
	json.Unmarshal([]byte(ds[1].mustCLI("--enc", "json", "id")), &id)
	ds[1].stop()
	if entries, _ := os.ReadDir(filepath.Join(ds[1].dir, "backups")); len(entries) != 0 {
		t.Fatalf("a peer without leave_on_shutdown cleaned its state")
	}
}
