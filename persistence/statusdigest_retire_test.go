package persistence

import (
	"context"
	"path/filepath"
	"strings"
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
	before := dumpDigest(t, s.OwnDigestEach)
	if ok, err := s.RetireOwnDigest(d1.Epoch); !ok || err != nil {
		t.Fatalf("RetireOwnDigest(%d): %v %v", d1.Epoch, ok, err)
	}
	epoch, seq, err := s.OwnDigestVersion()
	if err != nil || epoch == d1.Epoch || epoch == 0 || seq != d1.Seq {
		t.Fatalf("version after retiring: epoch %d seq %d %v, want a new epoch at seq %d", epoch, seq, err, d1.Seq)
	}
	if got := dumpDigest(t, s.OwnDigestEach); got != before {
		t.Fatalf("own entries changed by retiring:\n%s\nwant:\n%s", got, before)
	}
	// The reconcile at start publishes what the restored state forgot, after the seq.
	d := publish(s, statusdigest.Entry{Cid: c3, Status: api.TrackerStatusPinError, TS: ts, Error: "boom"})
	if d.Epoch != epoch || d.Seq != seq+1 {
		t.Fatalf("delta after retiring: epoch %d seq %d, want %d at %d", d.Epoch, d.Seq, epoch, seq+1)
	}
	// The replica dropped the forgotten life for the new epoch and is behind (shown as such)
	// until it pulls the whole digest.
	m, _, err := rep.DigestMeta(pubID)
	if err != nil || m.Epoch != epoch || m.Current() {
		t.Fatalf("replica meta after the new epoch's delta: %+v %v, want epoch %d, behind", m, err, epoch)
	}
	if got := replica(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "pin_error") {
		t.Fatalf("the replica kept the forgotten life's entries, want only the new epoch's delta:\n%s", got)
	}
	gen, err := rep.StartDigestPull(pubID)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := s.OwnDigestPage(nil, statusdigest.MaxEntries)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.ApplyDigestPage(pubID, gen, pg, true, now); err != nil {
		t.Fatal(err)
	}
	if _, err := rep.FinishDigestPull(pubID, gen, pg.Epoch, pg.Seq, now); err != nil {
		t.Fatal(err)
	}
	if got, want := replica(), dumpDigest(t, s.OwnDigestEach); got != want {
		t.Fatalf("replica differs from the publisher\nreplica:\n%s\npublisher:\n%s", got, want)
	}
	if m, _, err := rep.DigestMeta(pubID); err != nil || m.Epoch != epoch || !m.Current() {
		t.Fatalf("replica meta after the pull: %+v %v", m, err)
	}
	if ok, err := s.RetireOwnDigest(d1.Epoch); ok || err != nil { // once only
		t.Fatalf("retired twice: %v %v", ok, err)
	}
}
