package api

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestValidTokenID(t *testing.T) {
	for id, want := range map[string]bool{
		NewTokenID():                        true,
		"00112233445566778899aabbccddeeff":  true,
		"00112233445566778899AABBCCDDEEFF":  false, // ids are lowercase
		"00112233445566778899aabbccddeef":   false,
		"00112233445566778899aabbccddeeff0": false,
		"../../../../m/count/000000000000":  false,
		"":                                  false,
	} {
		if got := ValidTokenID(id); got != want {
			t.Errorf("ValidTokenID(%q) = %v", id, got)
		}
	}
}

// TestMergeTokenRecordsLaws: merging is commutative, associative and idempotent, keeps issue
// metadata and makes revocation sticky, so replicas converge whatever the order.
func TestMergeTokenRecordsLaws(t *testing.T) {
	base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	id := NewTokenID()
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() TokenRecord {
		rec := TokenRecord{ID: id, ExpiresAt: base.Add(time.Duration(r.IntN(3)) * time.Hour)}
		if r.IntN(2) == 0 {
			rec.User, rec.Permissions = "alice", []string{"read"}
			rec.IssuedAt, rec.IssuedBy = base.Add(time.Duration(r.IntN(2))*time.Second), peer.ID([]byte{byte(r.IntN(2))})
		}
		if r.IntN(2) == 0 {
			rec.Revoked, rec.RevokedAt, rec.RevokedBy = true, base.Add(time.Duration(r.IntN(3))*time.Minute), peer.ID([]byte{byte(r.IntN(3))})
		}
		return rec
	}
	for range 2000 {
		a, b, c := gen(), gen(), gen()
		if ab, ba := MergeTokenRecords(a, b), MergeTokenRecords(b, a); !reflect.DeepEqual(ab, ba) {
			t.Fatalf("not commutative:\n%+v\n%+v", ab, ba)
		}
		if l, rr := MergeTokenRecords(MergeTokenRecords(a, b), c), MergeTokenRecords(a, MergeTokenRecords(b, c)); !reflect.DeepEqual(l, rr) {
			t.Fatalf("not associative:\n%+v\n%+v", l, rr)
		}
		if aa := MergeTokenRecords(a, a); !reflect.DeepEqual(aa, a) {
			t.Fatalf("not idempotent: %+v -> %+v", a, aa)
		}
		if m := MergeTokenRecords(a, b); (a.Revoked || b.Revoked) != m.Revoked {
			t.Fatalf("revocation lost: %+v + %+v = %+v", a, b, m)
		}
	}
}
