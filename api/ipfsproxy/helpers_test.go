package ipfsproxy_test

import (
	"testing"

	"github.com/pincluster/pincluster/api"
)

func mustCid(t *testing.T, s string) api.Cid {
	t.Helper()
	c, err := api.DecodeCid(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
