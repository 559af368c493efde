package cluster

import (
	"testing"

	gocid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
)

func testCid(t testing.TB, s string) api.Cid {
	t.Helper()
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}
