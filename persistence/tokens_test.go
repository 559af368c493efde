package persistence

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

func tokenRecs(t testing.TB, now time.Time) (issued, revoked api.TokenRecord) {
	now = now.UTC().Round(0) // as stored: no monotonic reading
	a, b := newPeer(t, 1), newPeer(t, 2)
	issued = api.TokenRecord{ID: api.NewTokenID(), User: "alice", Permissions: []string{"admin"},
		IssuedAt: now.Truncate(time.Second), ExpiresAt: now.Add(time.Hour).Truncate(time.Second), IssuedBy: a}
	revoked = api.TokenRecord{ID: issued.ID, ExpiresAt: issued.ExpiresAt, Revoked: true, RevokedAt: now.Add(time.Minute), RevokedBy: b}
	return issued, revoked
}

// TestTokensMergeAndPersist: records merge (a revocation arriving before or after the issue
// record gives the same record), revocation is sticky, and everything survives a reopen.
func TestTokensMergeAndPersist(t *testing.T) {
	s, dir := openTemp(t)
	now := time.Now()
	issued, revoked := tokenRecs(t, now)
	if ok, err := s.TokenRevoked(issued.ID); ok || err != nil {
		t.Fatalf("unknown token revoked=%v err=%v", ok, err)
	}
	changed, err := s.MergeTokens([]api.TokenRecord{revoked}, now)
	if err != nil || len(changed) != 1 {
		t.Fatalf("merge revocation: %v %v", changed, err)
	}
	if changed, _ = s.MergeTokens([]api.TokenRecord{issued}, now); len(changed) != 1 || !changed[0].Revoked || changed[0].User != "alice" {
		t.Fatalf("issue after revocation: %+v", changed)
	}
	if changed, _ = s.MergeTokens([]api.TokenRecord{issued, revoked}, now); len(changed) != 0 {
		t.Fatalf("duplicates changed %+v", changed)
	}
	want := api.MergeTokenRecords(issued, revoked)
	if ok, _ := s.TokenRevoked(issued.ID); !ok {
		t.Fatal("not revoked")
	}
	s.Close()
	s2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	got, ok, err := s2.Token(issued.ID)
	if err != nil || !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen: %+v %v %v, want %+v", got, ok, err, want)
	}
	if ok, _ := s2.TokenRevoked(issued.ID); !ok {
		t.Fatal("the revocation did not survive a reopen")
	}
}

// TestTokensMergeOrderFree: any order and duplication of the same records converges (the
// records are a join semilattice).
func TestTokensMergeOrderFree(t *testing.T) {
	now := time.Now()
	var all []api.TokenRecord
	for range 5 {
		issued, revoked := tokenRecs(t, now)
		revoked2 := revoked
		revoked2.RevokedAt, revoked2.RevokedBy = revoked.RevokedAt.Add(-time.Second), issued.IssuedBy
		all = append(all, issued, revoked, revoked2, issued)
	}
	var first []api.TokenRecord
	for i := range 5 {
		s, _ := openTemp(t)
		recs := append([]api.TokenRecord(nil), all...)
		rand.Shuffle(len(recs), func(a, b int) { recs[a], recs[b] = recs[b], recs[a] })
		for _, r := range recs {
			if _, err := s.MergeTokens([]api.TokenRecord{r}, now); err != nil {
				t.Fatal(err)
			}
		}
		var got []api.TokenRecord
		if err := s.IterateTokens(context.Background(), "", func(r api.TokenRecord) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Fatalf("%d records, want 5", len(got))
		}
		if i == 0 {
			first = got
		} else if !reflect.DeepEqual(got, first) {
			t.Fatalf("order %d converged elsewhere:\n%+v\n%+v", i, got, first)
		}
	}
}

// TestTokensIterateAndDropExpired: iteration pages by id; expired records are not stored and
// are dropped by DropExpiredTokens; invalid records are refused.
func TestTokensIterateAndDropExpired(t *testing.T) {
	s, _ := openTemp(t)
	now := time.Now()
	var ids []string
	for i := range 10 {
		r, _ := tokenRecs(t, now)
		r.ExpiresAt = now.Add(time.Duration(i+1) * time.Minute)
		ids = append(ids, r.ID)
		if _, err := s.MergeTokens([]api.TokenRecord{r}, now); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := tokenRecs(t, now)
	old.ExpiresAt = now.Add(-time.Minute)
	if changed, _ := s.MergeTokens([]api.TokenRecord{old}, now); len(changed) != 0 {
		t.Fatal("stored an expired record")
	}
	bad := old
	bad.ID = "x/../m/count"
	if _, err := s.MergeTokens([]api.TokenRecord{bad}, now); err == nil {
		t.Fatal("stored a record with a bad id")
	}
	count := func(after string) int {
		n := 0
		s.IterateTokens(context.Background(), after, func(api.TokenRecord) error { n++; return nil })
		return n
	}
	if n := count(""); n != 10 {
		t.Fatalf("%d records", n)
	}
	// Dropping at now+5.5m removes the five that expired by then.
	n, err := s.DropExpiredTokens(now.Add(5*time.Minute + 30*time.Second))
	if err != nil || n != 5 {
		t.Fatalf("dropped %d (%v), want 5", n, err)
	}
	if n := count(""); n != 5 {
		t.Fatalf("%d records left, want 5", n)
	}
	for i, id := range ids {
		_, ok, _ := s.Token(id)
		if ok != (i >= 5) {
			t.Errorf("record %d (expires +%dm): present %v", i, i+1, ok)
		}
	}
	var first string
	s.IterateTokens(context.Background(), "", func(r api.TokenRecord) error {
		if first == "" {
			first = r.ID
		}
		return nil
	})
	if n := count(first); n != 4 {
		t.Fatalf("%d records after the first, want 4", n)
	}
}
