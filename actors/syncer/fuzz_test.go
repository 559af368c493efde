package syncer

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/pincluster/pincluster/messages"
)

// FuzzAnswer: any SyncRequest from another peer (cursor, vector, limit, held ranges) is answered without
// panicking, with an error or a page of at most the limit.
func FuzzAnswer(f *testing.F) {
	f.Add([]byte(`{"vv":{},"limit":3}`))
	f.Add([]byte(`{"vv":{"x":1},"limit":-1,"cursor":"bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"}`))
	f.Add([]byte(`{"cursor":"zzz"}`))
	a := newSide(f, 1, 4)
	o1 := newPeer(f, 10)
	f.Add([]byte(`{"vv":{"` + o1.String() + `":2},"limit":3,"held":[{"origin":"` + o1.String() + `","from":4,"to":18446744073709551615},{"origin":"` + o1.String() + `","from":3,"to":1},{"origin":"x","from":0,"to":0}]}`))
	if _, err := a.store.Apply(history(f, o1, 1, 9, 0)); err != nil {
		f.Fatal(err)
	}
	// o1 answers for itself with ops above a gap in its vector (after state cleanup: answer
	// serves its own ops up to LastSeq).
	if _, err := a.store.Apply(history(f, o1, 12, 15, 0)); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req messages.SyncRequest
		if json.Unmarshal(b, &req) != nil {
			return
		}
		resp := answer(context.Background(), a.store, &req, o1, snapshotMinOps)
		if resp.Error == "" && len(resp.Ops) > DefaultPageSize*4 {
			t.Fatalf("page of %d ops", len(resp.Ops))
		}
	})
}

// FuzzSnapshotPage: a hostile snapshot page is refused or merged, never a panic.
func FuzzSnapshotPage(f *testing.F) {
	f.Add([]byte(`{"snapshot":true,"records":[],"snapshot_vv":{}}`))
	f.Add([]byte(`{"snapshot":true,"records":["AAEC"],"snapshot_vv":{"12D3KooWK99VoVxNE7XzyBwXEzW7xhK7Gpv85r9F3V3fyKSUKPH5":3}}`))
	f.Add([]byte(`{"snapshot":true,"more":true,"cursor":"nope","records":[]}`))
	b := newSide(f, 2, 4)
	f.Fuzz(func(t *testing.T, raw []byte) {
		var resp messages.SyncResponse
		if json.Unmarshal(raw, &resp) != nil {
			return
		}
		resp.More = false // a continuation would need a responder
		_, _ = b.syncer.loadSnapshot(context.Background(), b.id, &resp)
	})
}
