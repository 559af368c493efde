package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shardStorageMax is each peer's ipfs_connector.storage_max in TestShardedAdd: the file added
// is three times larger.
const shardStorageMax = 8 << 20

// TestShardedAdd: on a 4-peer cluster whose peers each have 8 MiB of storage, a file three
// times larger is added with --shard: its shards spread over the peers (none holds more than
// its free space), pin ls shows the meta-pin, cluster-DAG and shards by type, status of the
// meta-pin aggregates the shards, the proxy's cat on a peer that holds a part of it only
// reads it back whole, and pin rm of the meta-pin removes every shard. Bad input changes
// nothing: a shard smaller than a chunk, and a file that does not fit in the cluster.
func TestShardedAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	env := []string{"CLUSTER_MONITORPINGINTERVAL=1s", "CLUSTER_METRIC_TTL=3s",
		"PINCLUSTER_IPFS_CONNECTOR_STORAGE_MAX=" + strconv.Itoa(shardStorageMax)}
	ds, _ := startCluster(t, 4, env, nil)
	ids := make([]string, len(ds))
	for i, d := range ds {
		var id struct{ ID string }
		json.Unmarshal([]byte(d.mustCLI("--enc", "json", "id")), &id)
		ids[i] = id.ID
	}
	free := func() map[string]uint64 {
		out := map[string]uint64{}
		r := ds[0].cli("--enc", "json", "health", "metrics", "freespace")
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		for {
			var m struct {
				Peer  string `json:"peer"`
				Value string `json:"value"`
			}
			if dec.Decode(&m) != nil {
				return out
			}
			n, _ := strconv.ParseUint(m.Value, 10, 64)
			out[m.Peer] = n
		}
	}
	waitFor(t, 30*time.Second, "freespace metrics of 4 peers", func() bool { return len(free()) == 4 })
	for p, f := range free() {
		if f > shardStorageMax {
			t.Fatalf("peer %s reports %d bytes free, over its storage_max %d", p, f, shardStorageMax)
		}
	}
	work := t.TempDir()
	allPins := func() int {
		return strings.Count(ds[0].mustCLI("--enc", "json", "pin", "ls", "--filter", "all"), `"cid"`)
	}
	before := allPins()

	// Bad input: a shard smaller than one chunk; more than the cluster can hold.
	small := filepath.Join(work, "small.bin")
	randomFile(t, small, 4<<10)
	r := ds[0].cli("add", "--shard", "--shard-size", "1000", small)
	if r.code == 0 || !strings.Contains(r.stderr, "smaller than one chunk") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("a shard size under one chunk: want one clear error line, got %s", r)
	}
	huge := filepath.Join(work, "huge.bin")
	randomFile(t, huge, 5*shardStorageMax)
	r = ds[0].cli("add", "--shard", "--shard-size", "1048576", "--replication", "1", huge)
	if r.code == 0 || !strings.Contains(r.stderr, "cannot be placed") {
		t.Fatalf("a sharded add larger than the cluster: want a failure saying so, got %s", r)
	}
	if n := allPins(); n != before {
		t.Fatalf("refused sharded adds changed the pinset: %d pins before, %d after", before, n)
	}

	// The sharded add: three times any peer's storage, shards of 1 MiB, one copy each.
	path := filepath.Join(work, "big.bin")
	data := randomFile(t, path, 3*shardStorageMax)
	start := time.Now()
	root := lastLine(ds[0].mustCLI("add", "-q", "--shard", "--shard-size", "1048576", "--replication", "1", "--name", "big", path))
	t.Logf("sharded add of %d MiB took %s", len(data)>>20, time.Since(start))

	type pin struct {
		Cid         string   `json:"cid"`
		Type        string   `json:"type"`
		Allocations []string `json:"allocations"`
		MaxDepth    int      `json:"max_depth"`
		Reference   string   `json:"reference"`
	}
	list := func(filter string) []pin {
		var out []pin
		dec := json.NewDecoder(strings.NewReader(ds[0].mustCLI("--enc", "json", "pin", "ls", "--filter", filter)))
		for {
			var p pin
			if dec.Decode(&p) != nil {
				return out
			}
			out = append(out, p)
		}
	}
	metas, dags, shards := list("meta-pin"), list("clusterdag-pin"), list("shard-pin")
	if len(metas) != 1 || metas[0].Cid != root || metas[0].Type != "meta-pin" || len(dags) != 1 || metas[0].Reference != dags[0].Cid {
		t.Fatalf("meta-pins %+v, cluster-DAGs %+v: want one meta-pin of %s referencing the one cluster-DAG", metas, dags, root)
	}
	if dags[0].MaxDepth != 0 || dags[0].Reference != root {
		t.Fatalf("cluster-DAG %+v: want max_depth 0 and a reference to %s", dags[0], root)
	}
	if len(shards) < 24 {
		t.Fatalf("%d shards of at most 1 MiB for a 24 MiB file", len(shards))
	}
	perPeer := map[string]int{}
	for _, s := range shards {
		if s.MaxDepth != 1 || len(s.Allocations) != 1 {
			t.Fatalf("shard %+v: want max_depth 1 and one allocation", s)
		}
		perPeer[s.Allocations[0]]++
	}
	for _, id := range ids {
		if n := perPeer[id]; n == 0 || n > shardStorageMax>>20 {
			t.Fatalf("peer %s holds %d shards of 1 MiB with %d MiB of storage: %v", id, n, shardStorageMax>>20, perPeer)
		}
	}
	if got := list("pin"); len(got) != 0 {
		t.Fatalf("pin ls (plain pins only) lists %d pins of the sharded add: %+v", len(got), got)
	}

	// Status of the meta-pin: every peer holds pinned shards, so each shows sharded.
	waitFor(t, 60*time.Second, "the meta-pin sharded on every peer", func() bool {
		return countStatus(ds[0].peerStatuses(root), "sharded") == 4
	})
	if out := ds[0].mustCLI("--enc", "json", "status", "--filter", "sharded"); !strings.Contains(out, root) {
		t.Fatalf("status --filter sharded does not list the meta-pin %s: %s", root, out)
	}
	// status --local of the whole pinset aggregates too (each peer holds shards), and recover
	// of the meta-pin covers its shards and answers with the aggregate.
	for i, d := range ds {
		if out := d.mustCLI("--enc", "json", "status", "--local", "--filter", "sharded"); !strings.Contains(out, root) {
			t.Fatalf("peer %d: status --local --filter sharded does not list the meta-pin %s: %s", i, root, out)
		}
	}
	var recovered struct {
		PeerMap peerMap `json:"peer_map"`
	}
	out := ds[0].mustCLI("--enc", "json", "recover", root)
	if err := json.Unmarshal([]byte(out), &recovered); err != nil || countStatus(recovered.PeerMap, "sharded") != 4 {
		t.Fatalf("recover of the meta-pin: want its aggregate, sharded on the 4 peers: %v %s", err, out)
	}

	// IPFS GC on every peer keeps what the shard-pins hold (their links are raw CIDs of the
	// blocks' multihashes), then read back whole through the IPFS proxy of peer 2, which
	// holds about a quarter of it.
	ds[0].mustCLI("ipfs", "gc")
	got := proxyCat(t, ds[1], root)
	if !bytes.Equal(got, data) {
		t.Fatalf("cat through the proxy read %d bytes, not the %d added", len(got), len(data))
	}

	// A shard or the cluster-DAG alone cannot be unpinned; the meta-pin removes them all.
	if r := ds[0].cli("pin", "rm", shards[0].Cid); r.code == 0 || !strings.Contains(r.stderr, "meta-pin") {
		t.Fatalf("pin rm of a shard: want a refusal naming the meta-pin, got %s", r)
	}
	ds[0].mustCLI("pin", "rm", root)
	if n := allPins(); n != before {
		t.Fatalf("after pin rm of the meta-pin the pinset has %d pins, want %d", n, before)
	}
}

// TestShardedAddRepinsShardsOfADeadPeer: shard-pins are ordinary pins to the healer: when a
// peer holding shards dies, they move to live peers, and the DAG still reads back whole.
func TestShardedAddRepinsShardsOfADeadPeer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ds, _ := startCluster(t, 4, []string{"CLUSTER_MONITORPINGINTERVAL=1s", "CLUSTER_METRIC_TTL=3s"}, nil)
	ids := make([]string, len(ds))
	for i, d := range ds {
		var id struct{ ID string }
		json.Unmarshal([]byte(d.mustCLI("--enc", "json", "id")), &id)
		ids[i] = id.ID
	}
	waitFor(t, 30*time.Second, "freespace metrics of 4 peers", func() bool {
		r := ds[0].cli("--enc", "json", "health", "metrics", "freespace")
		return r.code == 0 && strings.Count(r.stdout, `"peer"`) == 4
	})
	path := filepath.Join(t.TempDir(), "two.bin")
	data := randomFile(t, path, 2<<20)
	root := lastLine(ds[0].mustCLI("add", "-q", "--shard", "--shard-size", "524288", "--replication", "2", path))
	type shard struct {
		Cid         string   `json:"cid"`
		Allocations []string `json:"allocations"`
	}
	shards := func() []shard {
		var out []shard
		dec := json.NewDecoder(strings.NewReader(ds[0].mustCLI("--enc", "json", "pin", "ls", "--filter", "shard-pin")))
		for {
			var s shard
			if dec.Decode(&s) != nil {
				return out
			}
			out = append(out, s)
		}
	}
	victim := -1
	for _, s := range shards() {
		for _, a := range s.Allocations {
			for i, id := range ids {
				if a == id && i != 0 {
					victim = i
				}
			}
		}
	}
	if victim < 0 {
		t.Fatal("no shard allocated outside peer 1")
	}
	ds[victim].kill()
	waitFor(t, 90*time.Second, "every shard re-allocated to live peers and pinned", func() bool {
		list := shards()
		if len(list) < 4 {
			t.Fatalf("%d shards listed for a 2 MiB file in shards of 512 KiB", len(list))
		}
		for _, s := range list {
			pm := ds[0].peerStatuses(s.Cid)
			for _, a := range s.Allocations {
				if a == ids[victim] || pm[a].Status != "pinned" {
					return false
				}
			}
		}
		return true
	})
	if got := proxyCat(t, ds[0], root); !bytes.Equal(got, data) {
		t.Fatalf("after repinning, cat read %d bytes, not the %d added", len(got), len(data))
	}
}

// proxyCat reads /api/v0/cat of c from the daemon's IPFS proxy API.
func proxyCat(t *testing.T, d *daemon, c string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(d.dir, "service.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		API struct {
			IPFSProxy struct {
				Listen string `json:"listen_multiaddress"`
			} `json:"ipfsproxy"`
		} `json:"api"`
	}
	json.Unmarshal(raw, &cfg)
	parts := strings.Split(cfg.API.IPFSProxy.Listen, "/") // /ip4/127.0.0.1/tcp/PORT
	if len(parts) != 5 {
		t.Fatalf("proxy address %q", cfg.API.IPFSProxy.Listen)
	}
	url := fmt.Sprintf("http://%s:%s/api/v0/cat?arg=%s", parts[2], parts[4], c)
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Post(url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("cat %s: HTTP %d: %s", c, resp.StatusCode, body)
	}
	return body
}
