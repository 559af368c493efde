package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestTokenRevocationAcrossPeers: a token issued on peer 1 works on peer 2; revoked on peer 2,
// it is refused by peers 1 and 3 within the gossip delay, still refused by a restarted peer,
// and a peer that was down during a revocation refuses the token once it is back.
func TestTokenRevocationAcrossPeers(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// Every client command of the harness (its id probe included) authenticates as admin.
	t.Setenv("CLUSTER_CREDENTIALS", "admin:e2e-pw")
	ds, addr := startCluster(t, 3, []string{"PINCLUSTER_RESTAPI_BASIC_AUTH_CREDENTIALS=admin:e2e-pw", "CLUSTER_MONITORPINGINTERVAL=1s"}, nil)

	issue := func(d *daemon) (tok, id string) {
		t.Helper()
		var out struct{ Token, ID string }
		if err := json.Unmarshal([]byte(d.mustCLI("--enc", "json", "token", "--permissions", "read")), &out); err != nil || out.ID == "" {
			t.Fatalf("token: %v %+v", err, out)
		}
		return out.Token, out.ID
	}
	accepts := func(d *daemon, tok string) bool { return d.cli("--token", tok, "id").code == 0 }
	refuses := func(d *daemon, tok string) bool {
		r := d.cli("--token", tok, "id")
		return r.code == 2 && strings.Contains(r.stderr, "token revoked") && strings.Contains(r.stderr, "HTTP 401")
	}
	lists := func(d *daemon, id string) bool { return strings.Contains(d.cli("token", "ls").stdout, id) }

	tok, id := issue(ds[0])
	if !accepts(ds[1], tok) || !accepts(ds[2], tok) {
		t.Fatal("a token issued on peer 1 is refused by another peer")
	}
	waitFor(t, 20*time.Second, "every peer to list the token issued on peer 1", func() bool {
		return lists(ds[1], id) && lists(ds[2], id)
	})
	if out := ds[2].mustCLI("token", "ls"); strings.Contains(out, tok) {
		t.Fatal("token ls shows the token itself")
	}

	ds[1].mustCLI("token", "revoke", id)
	start := time.Now()
	if !refuses(ds[1], tok) {
		t.Fatal("the revoking peer still accepts the token")
	}
	waitFor(t, 10*time.Second, "peers 1 and 3 to refuse the revoked token", func() bool {
		return refuses(ds[0], tok) && refuses(ds[2], tok)
	})
	t.Logf("revocation reached peers 1 and 3 in %s", time.Since(start))
	if r := ds[0].cli("token", "revoke", id); r.code != 0 {
		t.Fatalf("revoking twice: %s", r)
	}
	if r := ds[0].cli("token", "revoke", strings.Repeat("ab", 16)); r.code != 2 || !strings.Contains(r.stderr, "HTTP 404") {
		t.Fatalf("revoking an unknown id: %s", r)
	}

	// A restarted peer refuses it at once (durable, no pull needed).
	ds[0].stop()
	ds[0] = startDaemon(t, ds[0].dir, ds[0].env)
	if !refuses(ds[0], tok) {
		t.Fatal("peer 1 accepts the revoked token after a restart")
	}

	// Peer 3 is down while a token is revoked on peer 2; back, it refuses it.
	tok2, id2 := issue(ds[0])
	waitFor(t, 20*time.Second, "peer 3 to know the second token", func() bool { return lists(ds[2], id2) && accepts(ds[2], tok2) })
	ds[2].stop()
	ds[1].mustCLI("token", "revoke", id2)
	ds[2] = startDaemon(t, ds[2].dir, ds[2].env, "--bootstrap", addr)
	waitFor(t, 20*time.Second, "peer 3, back, to refuse the token revoked while it was down", func() bool { return refuses(ds[2], tok2) })
	if !refuses(ds[0], tok2) {
		t.Fatal("peer 1 accepts the second revoked token")
	}
	// The first token stays valid nowhere; a fresh one works everywhere.
	tok3, _ := issue(ds[2])
	for i, d := range ds {
		if !accepts(d, tok3) {
			t.Fatalf("peer %d refuses a fresh token", i+1)
		}
	}
}
