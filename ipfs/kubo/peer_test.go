package kubo_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/internal/peerprobe"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/ipfs/kubo"
	"github.com/pincluster/pincluster/peer"
)

// A peer configured with ipfs_connector.backend "kubo" pins on the Kubo daemon, also by a path
// into a DAG that the daemon resolves.
func TestPeerOnKubo(t *testing.T) {
	addr := kubo.DaemonAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	ident, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg := servicejson.Default()
	cfg.Cluster.ListenMultiaddress = []string{"/ip4/127.0.0.1/tcp/0"}
	cfg.API.RestAPI.ListenMultiaddress = "/ip4/127.0.0.1/tcp/0"
	cfg.IPFS.Backend = "kubo"
	cfg.IPFS.NodeMultiaddress = addr
	var probe peerprobe.Probe
	p, err := peer.New(ctx, dir, cfg, ident, peer.Options{NoREST: true, Probe: &probe})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	backend := probe.Backend()
	if _, ok := backend.(*kubo.Node); !ok {
		t.Fatalf("backend is %T, want *kubo.Node", backend)
	}
	tree := files.NewSliceDirectory([]files.DirEntry{files.FileEntry("d", files.NewSliceDirectory([]files.DirEntry{
		files.FileEntry("f.txt", files.NewBytesFile([]byte("pinned through a path"))),
	}))})
	var file api.Cid
	root, err := backend.Add(ctx, tree, api.DefaultAddParams(), func(o api.AddedOutput) {
		if o.Name == "d/f.txt" {
			file = o.Cid
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	pin, err := p.PinPath(ctx, "/ipfs/"+root.String()+"/f.txt", api.PinOptions{Name: "by path"})
	if err != nil {
		t.Fatal(err)
	}
	if !pin.Cid.Equals(file.Cid) {
		t.Fatalf("pinned %s, want the file %s", pin.Cid, file)
	}
	ok := poll.Until(30*time.Second, 50*time.Millisecond, func() bool {
		pinned, _, err := backend.IsPinned(ctx, file)
		return err == nil && pinned
	})
	if !ok {
		t.Fatal("the file never got pinned on Kubo")
	}
}
