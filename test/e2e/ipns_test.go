package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipns"
	gocid "github.com/ipfs/go-cid"
	carv2 "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
	"github.com/ipld/go-ipld-prime/codec"
	"github.com/ipld/go-ipld-prime/codec/dagcbor"
	"github.com/ipld/go-ipld-prime/codec/dagjson"
	"github.com/ipld/go-ipld-prime/datamodel"
	"github.com/ipld/go-ipld-prime/fluent/qp"
	cidlink "github.com/ipld/go-ipld-prime/linking/cid"
	basicnode "github.com/ipld/go-ipld-prime/node/basic"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/internal/syncbuf"
)

// kuboDaemon is a real Kubo (PINCLUSTER_KUBO_BIN) on loopback, stopped at cleanup.
type kuboDaemon struct {
	t       *testing.T
	bin     string
	env     []string
	apiAddr string
}

// startKubo starts Kubo in a temp repo: loopback TCP only, no bootstrap or mDNS, and the DHT
// as its routing (publish and resolve IPNS names there). With a secret it joins that private
// network (swarm.key), as a Kubo beside a pincluster peer must to reach its libp2p host. It
// skips the test when PINCLUSTER_KUBO_BIN is not set (what ran before the call still counts).
func startKubo(t *testing.T, secret string) *kuboDaemon {
	t.Helper()
	bin := os.Getenv("PINCLUSTER_KUBO_BIN")
	if bin == "" {
		t.Skip("PINCLUSTER_KUBO_BIN is not set: `make kubo` builds tools/kubo/bin/ipfs; set it to that path")
	}
	dir := t.TempDir()
	k := &kuboDaemon{t: t, bin: bin, env: append(os.Environ(), "IPFS_PATH="+dir, "IPFS_TELEMETRY=off", "GOLOG_LOG_LEVEL=error")}
	for _, s := range [][]string{
		{"init", "--profile", "test", "--empty-repo"},
		{"config", "Addresses.API", "/ip4/127.0.0.1/tcp/0"},
		{"config", "Addresses.Gateway", "/ip4/127.0.0.1/tcp/0"},
		{"config", "--json", "Addresses.Swarm", `["/ip4/127.0.0.1/tcp/0"]`},
		{"config", "--json", "Bootstrap", "[]"},
		{"config", "--json", "Discovery.MDNS.Enabled", "false"},
		{"config", "Routing.Type", "dht"},
	} {
		k.must(s...)
	}
	if secret != "" {
		key := "/key/swarm/psk/1.0.0/\n/base16/\n" + secret + "\n"
		if err := os.WriteFile(filepath.Join(dir, "swarm.key"), []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "daemon")
	cmd.Env = k.env
	log := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("kubo log:\n%s", log.String())
		}
	})
	waitFor(t, 60*time.Second, "kubo to write its API address", func() bool {
		select {
		case <-done:
			t.Fatalf("kubo exited: %s", log.String())
		default:
		}
		b, err := os.ReadFile(filepath.Join(dir, "api"))
		k.apiAddr = strings.TrimSpace(string(b))
		return err == nil && k.apiAddr != ""
	})
	return k
}

// run runs an ipfs command against the daemon.
func (k *kuboDaemon) run(args ...string) (string, error) {
	cmd := exec.Command(k.bin, args...)
	cmd.Env = k.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("ipfs %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func (k *kuboDaemon) must(args ...string) string {
	k.t.Helper()
	out, err := k.run(args...)
	if err != nil {
		k.t.Fatal(err)
	}
	return out
}

// addSite adds a directory holding index.html to Kubo and returns the directory's and the
// file's CIDs.
func (k *kuboDaemon) addSite(content string) (dir, file string) {
	k.t.Helper()
	src := filepath.Join(k.t.TempDir(), "site")
	writeFile(k.t, filepath.Join(src, "index.html"), content)
	lines := strings.Split(k.must("add", "-r", "-Q", "--cid-version=0", src), "\n")
	dir = lines[len(lines)-1]
	file = k.must("resolve", "-r", "/ipfs/"+dir+"/index.html")
	return dir, strings.TrimPrefix(file, "/ipfs/")
}

// proxyAddrRe finds the IPFS proxy's address in a daemon's log.
var proxyAddrRe = regexp.MustCompile(`IPFS proxy listening .*addr=/ip4/([0-9.]+)/tcp/([0-9]+)`)

// unpublishedName is an IPNS name (a fresh key's) that nobody publishes.
func unpublishedName(t *testing.T) string {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return ipns.NameFromPeer(id).String()
}

// checkUnresolvable: a pin of a name nobody publishes fails on the CLI (one line, exit 2), on
// REST (404 with a JSON message) and on the IPFS proxy (as Kubo answers), in bounded time, and
// leaves the pinset as it was.
func checkUnresolvable(t *testing.T, d *daemon) {
	t.Helper()
	before := d.mustCLI("--enc", "json", "pin", "ls")
	name := "/ipns/" + unpublishedName(t)
	start := time.Now()
	r := d.cli("pin", "add", "--name", "nowhere", name)
	if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "resolve") || !strings.Contains(r.stderr, "404") {
		t.Fatalf("pin add %s: want one line saying the name does not resolve (404), exit 2: %s", name, r)
	}
	if el := time.Since(start); el > 45*time.Second {
		t.Fatalf("pin add of an unresolvable name took %s (resolve timeout 30s)", el)
	}
	t.Logf("pin add %s: %s (%s)", name, strings.TrimSpace(r.stderr), time.Since(start).Round(time.Millisecond))
	resp, err := http.Post(restURL(t, d.dir)+"/pins"+name, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var apiErr struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if resp.StatusCode != http.StatusNotFound || json.Unmarshal(body, &apiErr) != nil || apiErr.Code != 404 || apiErr.Message == "" {
		t.Fatalf("REST POST /pins%s: want 404 with a JSON message: %d %s", name, resp.StatusCode, body)
	}
	// The IPFS proxy answers as Kubo does for a name it cannot resolve: 500, Kubo's error body.
	m := proxyAddrRe.FindStringSubmatch(d.log.String())
	if m == nil {
		t.Fatalf("no IPFS proxy address in the daemon's log")
	}
	resp, err = http.Post(fmt.Sprintf("http://%s:%s/api/v0/pin/add?arg=%s", m[1], m[2], name), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var kuboErr struct {
		Message string
		Code    int
		Type    string
	}
	if resp.StatusCode != http.StatusInternalServerError || json.Unmarshal(body, &kuboErr) != nil || kuboErr.Type != "error" || kuboErr.Code != 0 ||
		!strings.Contains(kuboErr.Message, "could not resolve name") {
		t.Fatalf("proxy pin/add?arg=%s: want Kubo's 500 \"could not resolve name\": %d %s", name, resp.StatusCode, body)
	}
	if after := d.mustCLI("--enc", "json", "pin", "ls"); after != before {
		t.Fatalf("an unresolvable name changed the pinset:\nbefore %s\nafter %s", before, after)
	}
}

// TestIPNSEmbedded: a two-peer cluster on the embedded node pins /ipns/<name>/index.html
// where the name is published by a real Kubo on the cluster's private network. Kubo is
// connected to peer 1 only and its record lands in peer 1's DHT; the pin is asked of peer 2,
// which finds the record through the DHT of the cluster, and both peers fetch the blocks over
// bitswap. A name nobody publishes is refused, before and after Kubo joins.
func TestIPNSEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ds, addr := startCluster(t, 2, nil, nil)
	p1, p2 := ds[0], ds[1]
	checkUnresolvable(t, p2)

	k := startKubo(t, strings.Repeat("ab", 32)) // startCluster's secret
	k.must("swarm", "connect", addr)
	site, index := k.addSite("<h1>cluster website</h1>")
	// Kubo's DHT takes the peer into its table once identify has run: publish until it does.
	var publishErr error
	waitFor(t, 60*time.Second, "kubo to publish its name to the peer's DHT", func() bool {
		_, publishErr = k.run("name", "publish", "--ttl=1m", "/ipfs/"+site)
		return publishErr == nil
	})
	name := k.must("id", "-f=<id>")

	out := p2.mustCLI("pin", "add", "--name", "cluster-website", "/ipns/"+name+"/index.html")
	if !strings.Contains(out, index) {
		t.Fatalf("pin add /ipns/%s/index.html: want %s in the output: %q", name, index, out)
	}
	waitFor(t, 90*time.Second, index+" pinned on both peers", func() bool {
		return countStatus(p1.peerStatuses(index), "pinned") == 2
	})
	out = p1.mustCLI("pin", "add", "--name", "cluster-website-dir", "/ipns/"+name)
	if !strings.Contains(out, site) {
		t.Fatalf("pin add /ipns/%s: want %s in the output: %q", name, site, out)
	}
	waitFor(t, 90*time.Second, site+" pinned on both peers", func() bool {
		return countStatus(p1.peerStatuses(site), "pinned") == 2
	})
	checkUnresolvable(t, p1)
}

// TestIPNSKubo: a peer on the kubo backend asks Kubo to resolve /ipns/ names: one Kubo
// published pins, one nobody published is refused; /ipld/ paths resolve through Kubo too.
func TestIPNSKubo(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	k := startKubo(t, "")
	site, index := k.addSite("<h1>on kubo</h1>")
	k.must("name", "publish", "--allow-offline", "/ipfs/"+site)
	name := k.must("id", "-f=<id>")

	dir := filepath.Join(t.TempDir(), "p1")
	env := []string{"PINCLUSTER_IPFS_CONNECTOR_BACKEND=kubo", "PINCLUSTER_IPFS_CONNECTOR_NODE_MULTIADDRESS=" + k.apiAddr}
	initDir(t, dir, env...)
	d := startDaemon(t, dir, env)

	out := d.mustCLI("pin", "add", "--name", "kubo-site", "/ipns/"+name+"/index.html")
	if !strings.Contains(out, index) {
		t.Fatalf("pin add /ipns/%s/index.html: want %s in the output: %q", name, index, out)
	}
	d.waitStatus(index, "pinned")
	if pins := k.must("pin", "ls", "--type=recursive", "-q"); !strings.Contains(pins, index) {
		t.Fatalf("Kubo does not hold the pin of %s: %q", index, pins)
	}
	checkUnresolvable(t, d)
	checkIPLDPaths(t, d)
}

// writeIPLDCAR writes a CAR whose root is a dag-json node {"next": <dag-cbor node>} where the
// dag-cbor node is {"link": <raw block>, "n": 1}, and returns the three CIDs (json, cbor, raw).
func writeIPLDCAR(t *testing.T, file string) (root, mid, leaf gocid.Cid) {
	t.Helper()
	leaf, leafData := rawBlock(t, []byte("ipld leaf "+time.Now().String()))
	encode := func(mc uint64, enc codec.Encoder, build func(ma datamodel.MapAssembler)) (gocid.Cid, []byte) {
		nd, err := qp.BuildMap(basicnode.Prototype.Any, 2, build)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := enc(nd, &buf); err != nil {
			t.Fatal(err)
		}
		h, _ := mh.Sum(buf.Bytes(), mh.SHA2_256, -1)
		return gocid.NewCidV1(mc, h), buf.Bytes()
	}
	mid, midData := encode(gocid.DagCBOR, dagcbor.Encode, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, "link", qp.Link(cidlink.Link{Cid: leaf}))
		qp.MapEntry(ma, "n", qp.Int(1))
	})
	root, rootData := encode(gocid.DagJSON, dagjson.Encode, func(ma datamodel.MapAssembler) {
		qp.MapEntry(ma, "next", qp.Link(cidlink.Link{Cid: mid}))
	})
	var buf bytes.Buffer
	w, err := storage.NewWritable(&buf, []gocid.Cid{root}, carv2.WriteAsCarV1(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		c gocid.Cid
		d []byte
	}{{root, rootData}, {mid, midData}, {leaf, leafData}} {
		if err := w.Put(context.Background(), b.c.KeyString(), b.d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finalize(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, buf.String())
	return root, mid, leaf
}

// checkIPLDPaths: /ipld/ paths through dag-json and dag-cbor nodes pin the block they name;
// a missing field is refused (exit 2) and pins nothing.
func checkIPLDPaths(t *testing.T, d *daemon) {
	t.Helper()
	car := filepath.Join(t.TempDir(), "ipld.car")
	root, mid, leaf := writeIPLDCAR(t, car)
	d.mustCLI("add", "--format", "car", car)
	d.waitStatus(root.String(), "pinned")
	for p, want := range map[string]gocid.Cid{
		"/ipld/" + root.String() + "/next":      mid,
		"/ipld/" + root.String() + "/next/link": leaf,
		"/ipld/" + root.String() + "/next/n":    mid, // ends inside the block: that block
	} {
		if out := d.mustCLI("pin", "add", "--name", "ipld", p); !strings.Contains(out, want.String()) {
			t.Fatalf("pin add %s: want %s in the output: %q", p, want, out)
		}
		d.waitStatus(want.String(), "pinned")
	}
	before := d.mustCLI("--enc", "json", "pin", "ls")
	if r := d.cli("pin", "add", "/ipld/"+root.String()+"/next/nope"); r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("pin add of a missing /ipld/ field: want one line, exit 2: %s", r)
	}
	if after := d.mustCLI("--enc", "json", "pin", "ls"); after != before {
		t.Fatal("a refused /ipld/ path changed the pinset")
	}
}

// TestIPLDPathsEmbedded: /ipld/ path pins on a peer on the embedded node (no Kubo needed).
func TestIPLDPathsEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dir := filepath.Join(t.TempDir(), "p1")
	initDir(t, dir)
	checkIPLDPaths(t, startDaemon(t, dir, nil))
}
