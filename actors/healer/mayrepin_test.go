package healer

import (
	"encoding/json"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/testpeer"
)

// TestMayRepin: the byte filter of the repin pass rules out only pins that surely need no
// repinning, as encoding/json writes them.
func TestMayRepin(t *testing.T) {
	dead, live := testpeer.ID(t, 1), testpeer.ID(t, 2)
	quoted := [][]byte{[]byte(`"` + dead.String() + `"`)}
	pinJSON := func(min int, name string, allocs ...peer.ID) []byte {
		p := api.Pin{Cid: cidOf(t, 1), Allocations: allocs}
		p.ReplicationFactorMin, p.ReplicationFactorMax, p.Name = min, min, name
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	for _, c := range []struct {
		what    string
		js      []byte
		forDead bool
		want    bool
	}{
		{"everywhere, dead pass", pinJSON(-1, ""), true, false},
		{"everywhere, sweep", pinJSON(-1, ""), false, false},
		{"on the dead peer", pinJSON(2, "", dead, live), true, true},
		{"not on the dead peer", pinJSON(2, "", live), true, false},
		{"not on the dead peer, sweep", pinJSON(2, "", live), false, true},
		{"a name holding the dead peer's ID", pinJSON(2, dead.String(), live), true, true},
		{"a name holding the -1 text", pinJSON(2, `"replication_factor_min":-1,`, dead), true, true},
		{"-10 is not -1", []byte(`{"replication_factor_min":-10,"allocations":[]}`), false, true},
	} {
		if got := mayRepin(c.js, c.forDead, quoted); got != c.want {
			t.Errorf("%s: mayRepin = %v, want %v (%s)", c.what, got, c.want, c.js)
		}
	}
}
