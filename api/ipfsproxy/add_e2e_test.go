package ipfsproxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ipfs/boxo/files"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/pincluster/pincluster/config/servicejson"
)

// TestAddSeveralFilesPinsEach: through a real peer's proxy (embedded IPFS node, the cluster's
// own add), the body Kubo's CLI sends for `ipfs add -r f1 d f2` pins f1, d and f2, each with the
// CID a lone add of it gives, and answers one line per file and directory.
func TestAddSeveralFilesPinsEach(t *testing.T) {
	p := loopbackPeer(t, func(cfg *servicejson.Config) {
		cfg.Cluster.ReplicationFactorMin, cfg.Cluster.ReplicationFactorMax = -1, -1
	})
	_, hostport, err := manet.DialArgs(ma.StringCast(p.IPFSProxyAddr()))
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + hostport + "/api/v0/add?cid-version=1"

	add := func(entries ...files.DirEntry) map[string]string {
		t.Helper()
		mfr := files.NewMultiFileReader(files.NewSliceDirectory(entries), true, false)
		resp, err := http.Post(url, "multipart/form-data; boundary="+mfr.Boundary(), mfr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		if resp.StatusCode != 200 || resp.Trailer.Get("X-Stream-Error") != "" {
			t.Fatalf("add: %d %s %v", resp.StatusCode, body.String(), resp.Trailer)
		}
		out := map[string]string{}
		var names []string
		sc := bufio.NewScanner(&body)
		for sc.Scan() {
			var ev struct{ Name, Hash string }
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			out[ev.Name] = ev.Hash
			names = append(names, ev.Name)
		}
		out["lines"] = strings.Join(names, ",")
		return out
	}
	file := func(name, data string) files.DirEntry {
		return files.FileEntry(name, files.NewBytesFile([]byte(data)))
	}
	dir := func() files.DirEntry {
		return files.FileEntry("d", files.NewSliceDirectory([]files.DirEntry{file("x", "ex"), file("y", "why")}))
	}

	got := add(file("f1", "one"), dir(), file("f2", "two"))
	if want := "f1,d/x,d/y,d,f2"; got["lines"] != want {
		t.Fatalf("lines %s, want %s", got["lines"], want)
	}
	for _, name := range []string{"f1", "d", "f2"} {
		c := mustCid(t, got[name])
		if _, err := p.PinGet(context.Background(), c); err != nil {
			t.Fatalf("%s (%s) is not pinned in the cluster: %v", name, c, err)
		}
	}
	// Each is the content a lone add of it gives (the split changes nothing of the DAGs).
	if lone := add(dir()); lone["d"] != got["d"] {
		t.Fatalf("d alone is %s, in the multi-file add %s", lone["d"], got["d"])
	}
	if lone := add(file("f1", "one")); lone["f1"] != got["f1"] || lone["lines"] != "f1" {
		t.Fatalf("f1 alone: %v, in the multi-file add %s", lone, got["f1"])
	}
}
