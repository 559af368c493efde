package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/blockpush"
	"github.com/pincluster/pincluster/ipfs/embedded"
)

// randomFile writes size random bytes.
func randomFile(t *testing.T, path string, size int) []byte {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

// dagBlocks lists every block CID of data added as one file with a 1 KiB chunker (as the
// daemon chunks it: the same importer).
func dagBlocks(t *testing.T, name string, data []byte) (api.Cid, []gocid.Cid) {
	t.Helper()
	sp, err := blockpush.NewSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	dir := files.NewMapDirectory(map[string]files.Node{name: files.NewBytesFile(data)})
	root, err := sp.ImportFiles(context.Background(), dir, api.AddParams{Chunker: "size-1024"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var cids []gocid.Cid
	for i := 0; i < sp.Len(); i++ {
		b, _ := sp.Block(i)
		cids = append(cids, b.Cid())
	}
	return root, cids
}

// blocksHeld counts how many of cids the (stopped) daemon's embedded IPFS node holds.
func blocksHeld(t *testing.T, d *daemon, cids []gocid.Cid) int {
	t.Helper()
	n, err := embedded.New(context.Background(), embedded.Config{Dir: filepath.Join(d.dir, "ipfs")})
	if err != nil {
		t.Fatalf("opening %s's IPFS node: %v", d.dir, err)
	}
	defer n.Close()
	held := 0
	for _, c := range cids {
		if ok, err := n.HasBlock(context.Background(), c); err != nil {
			t.Fatal(err)
		} else if ok {
			held++
		}
	}
	return held
}

func randomPeerID(t *testing.T) string {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := libp2ppeer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// TestClusterAddStreamsToAllocations: a cluster add (no --local) returns with the pin done on
// every allocation; the blocks are on every allocation and not on the receiving peer when it
// is not allocated, for UnixFS and CAR input; an allocation that refuses the blocks (peer 4
// trusts no peer of the cluster) is replaced by another peer; an add that cannot reach all
// its allocations fails naming the peer and pins nothing.
func TestClusterAddStreamsToAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	stranger := randomPeerID(t)
	ds, _ := startCluster(t, 4, []string{"CLUSTER_MONITORPINGINTERVAL=1s"}, func(i int) []string {
		if i == 4 {
			return []string{"CLUSTER_CRDT_TRUSTED_PEERS=" + stranger}
		}
		return nil
	})
	ids := make([]string, len(ds))
	for i, d := range ds {
		var id struct{ ID string }
		json.Unmarshal([]byte(d.mustCLI("--enc", "json", "id")), &id)
		ids[i] = id.ID
	}
	work := t.TempDir()

	// UnixFS, allocated to peers 2 and 3, received by peer 1.
	data := randomFile(t, filepath.Join(work, "a.bin"), 300<<10)
	wantRoot, cids := dagBlocks(t, "a.bin", data)
	root := lastLine(ds[0].mustCLI("add", "-q", "--chunker", "size-1024", "--replication", "2", "--allocations", ids[1]+","+ids[2], filepath.Join(work, "a.bin")))
	if root != wantRoot.String() {
		t.Fatalf("add printed %s, want %s", root, wantRoot)
	}
	// No wait: add returned once both allocations pinned.
	if pm := ds[0].peerStatuses(root); pm[ids[1]].Status != "pinned" || pm[ids[2]].Status != "pinned" {
		t.Fatalf("right after add, status is %v; want pinned on peers 2 and 3", pm)
	}

	// CAR, allocated to peers 2 and 3, received by peer 1.
	carPath := filepath.Join(work, "b.car")
	carCids := writeCAR(t, carPath, 1, []byte("cluster add car "+time.Now().String()))
	carRoot := lastLine(ds[0].mustCLI("add", "-q", "--format", "car", "--replication", "2", "--allocations", ids[1]+","+ids[2], carPath))
	if carRoot != carCids[0].String() {
		t.Fatalf("add --format car printed %s, want %s", carRoot, carCids[0])
	}
	if pm := ds[0].peerStatuses(carRoot); countStatus(pm, "pinned") != 2 || pm[ids[0]].Status == "pinned" {
		t.Fatalf("right after the CAR add, status is %v; want pinned on peers 2 and 3", pm)
	}

	// Peer 4 refuses pushed blocks (it trusts no cluster peer): it is replaced.
	randomFile(t, filepath.Join(work, "c.bin"), 20<<10)
	r := ds[0].cli("add", "-q", "--replication", "3", "--allocations", ids[1]+","+ids[2]+","+ids[3], filepath.Join(work, "c.bin"))
	if r.code != 0 {
		t.Fatalf("add with a refusing allocation was not replaced: %s", r)
	}
	replaced := lastLine(r.stdout)
	if pm := ds[0].peerStatuses(replaced); countStatus(pm, "pinned") != 3 || pm[ids[3]].Status == "pinned" {
		t.Fatalf("after replacing peer 4, status is %v; want pinned on peers 1-3", pm)
	}

	// Replication 4 needs peer 4 and nobody can replace it: a clear error, nothing pinned.
	randomFile(t, filepath.Join(work, "d.bin"), 20<<10)
	before := ds[0].pinsetCids()
	r = ds[0].cli("add", "-q", "--replication", "4", filepath.Join(work, "d.bin"))
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, ids[3]) {
		t.Fatalf("add needing the refusing peer 4: want a failure naming it, got %s", r)
	}
	if os.Getenv("E2E_SHOW_ADD_LOG") != "" {
		t.Logf("the failed add: %s", r)
	}
	if after := ds[0].pinsetCids(); len(after) != len(before) {
		t.Fatalf("a failed add changed the pinset: %d pins before, %d after", len(before), len(after))
	}

	for _, d := range ds {
		d.stop()
	}
	if os.Getenv("E2E_SHOW_ADD_LOG") != "" {
		for _, l := range strings.Split(ds[0].log.String(), "\n") {
			if strings.Contains(l, "add:") {
				t.Log(l)
			}
		}
	}
	for i, want := range []int{0, len(cids), len(cids), 0} {
		if got := blocksHeld(t, ds[i], cids); got != want {
			t.Errorf("peer %d holds %d of the %d blocks, want %d", i+1, got, len(cids), want)
		}
	}
	for i, want := range []int{0, 1, 1, 0} {
		if got := blocksHeld(t, ds[i], carCids); got != want {
			t.Errorf("peer %d holds %d CAR blocks, want %d", i+1, got, want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(ds[0].dir, "add-spool")); len(entries) != 0 {
		t.Errorf("the receiving peer kept %d spool files", len(entries))
	}
}
