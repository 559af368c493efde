package sharding

import (
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

func someCids(n int) []cid.Cid {
	out := make([]cid.Cid, n)
	for i := range out {
		out[i] = blocks.NewBlock([]byte{byte(i), byte(i >> 8)}).Cid()
	}
	return out
}

func TestShardNodeLinksRawCidsOfTheBlocks(t *testing.T) {
	members := someCids(300)
	nd, err := ShardNode(members)
	if err != nil {
		t.Fatal(err)
	}
	if nd.Cid().Prefix().Codec != cid.DagCBOR {
		t.Fatalf("shard node codec %x, want dag-cbor", nd.Cid().Prefix().Codec)
	}
	links, err := Links(nd.RawData())
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != len(members) {
		t.Fatalf("%d links, want %d", len(links), len(members))
	}
	for i, l := range links {
		if l.Prefix().Codec != cid.Raw || string(l.Hash()) != string(members[i].Hash()) {
			t.Fatalf("link %d = %s, want the raw CID of %s", i, l, members[i])
		}
	}
}

func TestClusterDAGRoundTrip(t *testing.T) {
	shards := someCids(12)
	nd, err := ClusterDAGNode(shards)
	if err != nil {
		t.Fatal(err)
	}
	links, err := Links(nd.RawData())
	if err != nil {
		t.Fatal(err)
	}
	for i := range shards {
		if !links[i].Equals(shards[i]) {
			t.Fatalf("link %d = %s, want %s", i, links[i], shards[i])
		}
	}
	if _, err := ClusterDAGNode(someCids(MaxLinks + 1)); err == nil {
		t.Fatal("a cluster-DAG over MaxLinks shards was built")
	}
}

func TestLinksRefusesOtherNodes(t *testing.T) {
	for _, raw := range [][]byte{nil, []byte("not cbor"), {0xa1, 0x61, 0x78, 0x01}} {
		if _, err := Links(raw); err == nil {
			t.Fatalf("Links(%x) accepted", raw)
		}
	}
}

// FuzzLinks: a cluster-DAG read from an IPFS node is outside input.
func FuzzLinks(f *testing.F) {
	nd, _ := ClusterDAGNode(someCids(3))
	f.Add(nd.RawData())
	f.Add([]byte{0xa0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		links, err := Links(raw)
		if err != nil {
			return
		}
		for _, l := range links {
			if !l.Defined() {
				t.Fatal("undefined link accepted")
			}
		}
	})
}
