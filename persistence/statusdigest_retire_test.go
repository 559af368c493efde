package persistence

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// A publisher whose store goes back to a backup of the epoch the replicas hold publishes
// again at seqs they passed: its changes are lost to them. Retired, its digest starts a new
// epoch, which the replica takes whole.
func TestRetiredOwnDigestStartsANewEpoch(t *testing.T) {
	pubID := newPeer(t, 9)
	c1, c2, c3 := mkCid(t, 1).Bytes(), mkCid(t, 2).Bytes(), mkCid(t, 3).Bytes()
	ts := time.Unix(1_700_000_000, 0).UTC()
	now := time.Now()
	pub, _ := openTemp(t)
	rep, _ := openTemp(t)
	publish := func(s *Store, es ...statusdigest.Entry) statusdigest.Digest {
		t.Helper()
		d, err := s.WriteOwnDigest(es, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rep.ApplyDigest(pubID, d, now); err != nil {
			t.Fatal(err)
		}
		return d
	}
	replica := func() string {
		return dumpDigest(t, func(ctx context.Context, fn func(statusdigest.Entry) error) error {
			return rep.DigestEntries(ctx, pubID, fn)
		})
	}
	d1 := publish(pub, statusdigest.Entry{Cid: c1, Status: api.TrackerStatusPinned, TS: ts})
	backup := filepath.Join(t.TempDir(), "pinset.bak")
	if err := pub.Backup(backup); err != nil {
		t.Fatal(err)
	}
	publish(pub, statusdigest.Entry{Cid: c2, Status: api.TrackerStatusPinned, TS: ts})
	restored := func() *Store {
		t.Helper()
		s, _ := openTemp(t)
		if err := s.LoadBackup(backup); err != nil {
			t.Fatal(err)
		}
		return s
	}

	// Not retired: the restored publisher's next delta reuses seq 2, which the replica has.
	old := restored()
	publish(old, statusdigest.Entry{Cid: c3, Status: api.TrackerStatusPinError, TS: ts, Error: "boom"})
	if got, want := replica(), dumpDigest(t, old.OwnDigestEach); got == want {
		t.Fatalf("the replica took a reused seq (the test no longer shows why retiring is needed):\n%s", got)
	}

	s := restored()
	if ok, err := s.RetireOwnDigest(d1.Epoch + 1); ok || err != nil {
		t.Fatalf("retired another epoch: %v %v", ok, err)
	}
	if ok, err := s.RetireOwnDigest(d1.Epoch); !ok || err != nil {
		t.Fatalf("RetireOwnDigest(%d): %v %v", d1.Epoch, ok, err)
	}
	if e, err := s.OwnDigestEpoch(); e != 0 || err != nil {
		t.Fatalf("epoch after retiring: %d %v", e, err)
	}
	if got := dumpDigest(t, s.OwnDigestEach); got != "" {
		t.Fatalf("own entries after retiring:\n%s", got)
	}
	// The reconcile at start writes the tracker's statuses again, in the new epoch.
	d := publish(s, statusdigest.Entry{Cid: c1, Status: api.TrackerStatusPinned, TS: ts},
		statusdigest.Entry{Cid: c3, Status: api.TrackerStatusPinError, TS: ts, Error: "boom"})
	if d.Epoch == d1.Epoch || d.Seq != 1 {
		t.Fatalf("delta after retiring: epoch %d seq %d (retired epoch %d)", d.Epoch, d.Seq, d1.Epoch)
	}
	if got, want := replica(), dumpDigest(t, s.OwnDigestEach); got != want {
		t.Fatalf("replica differs from the publisher\nreplica:\n%s\npublisher:\n%s", got, want)
	}
	if m, _, err := rep.DigestMeta(pubID); err != nil || m.Epoch != d.Epoch || !m.Current() {
		t.Fatalf("replica meta %+v %v", m, err)
	}
	if ok, err := s.RetireOwnDigest(d1.Epoch); ok || err != nil { // once only
		t.Fatalf("retired twice: %v %v", ok, err)
	}
}
