package persistence

import (
	"errors"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// TestDigestLateMessageOfRetiredEpoch: a heartbeat, delta or pull page of the epoch a replica
// just left (a late message of its publisher's previous life) is ignored for
// statusdigest.RetiredWindow, so the replica is never dropped for an epoch the publisher no
// longer keeps; after the window the epoch is taken again (a publisher restored from a
// backup).
func TestDigestLateMessageOfRetiredEpoch(t *testing.T) {
	rep, _ := openTemp(t)
	p := newPeer(t, 3)
	c1, c2, c3 := mkCid(t, 1).Bytes(), mkCid(t, 2).Bytes(), mkCid(t, 3).Bytes()
	now := time.Now()
	apply := func(d statusdigest.Digest, at time.Time) statusdigest.Meta {
		t.Helper()
		m, err := rep.ApplyDigest(p, d, at)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	found := func(c []byte) bool {
		t.Helper()
		v := rep.OpenDigestView()
		defer v.Close()
		_, ok, err := v.Lookup(p, c)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	pull := func(epoch uint64, c []byte, at time.Time) error {
		t.Helper()
		gen, err := rep.StartDigestPull(p)
		if err != nil {
			t.Fatal(err)
		}
		pg := statusdigest.Page{Epoch: epoch, Seq: 2, Entries: []statusdigest.Entry{{Cid: c, Status: api.TrackerStatusPinned, Seq: 1}}}
		if err := rep.ApplyDigestPage(p, gen, pg, true, at); err != nil {
			return err
		}
		m, err := rep.FinishDigestPull(p, gen, epoch, 2, at)
		if err == nil && (m.Epoch != epoch || !m.Current()) {
			t.Fatalf("after a pull of epoch %d: %+v", epoch, m)
		}
		return err
	}
	apply(statusdigest.Digest{Epoch: 1, Seq: 1, Entries: []statusdigest.Entry{{Cid: c1, Status: api.TrackerStatusPinned, Seq: 1}}}, now)
	apply(statusdigest.Digest{Epoch: 2, Seq: 1, Entries: []statusdigest.Entry{{Cid: c2, Status: api.TrackerStatusPinned, Seq: 1}}}, now)
	late := now.Add(statusdigest.RetiredWindow - time.Second)
	if m := apply(statusdigest.Digest{Epoch: 1, Seq: 0, Heartbeat: true}, late); m.Epoch != 2 || !m.Current() || !m.Updated.Equal(now) {
		t.Fatalf("a late heartbeat of the retired epoch: %+v", m)
	}
	if m := apply(statusdigest.Digest{Epoch: 1, Seq: 2, Entries: []statusdigest.Entry{{Cid: c3, Status: api.TrackerStatusPinned, Seq: 2}}}, late); m.Epoch != 2 {
		t.Fatalf("a late delta of the retired epoch: %+v", m)
	}
	// A page answered by the publisher's previous life before it restarted.
	if err := pull(1, c1, late); !errors.Is(err, errDigestEpochRetired) {
		t.Fatalf("a late pull page of the retired epoch: %v", err)
	}
	if !found(c2) || found(c1) || found(c3) {
		t.Fatal("the replica is not epoch 2's after late messages of epoch 1")
	}
	if m, _, err := rep.DigestMeta(p); err != nil || m.Epoch != 2 || len(m.Retired) != 1 || m.Retired[0].Epoch != 1 {
		t.Fatalf("stored meta %+v, %v", m, err)
	}
	// After the window the epoch is the publisher's again (restored from a backup): taken,
	// and behind it (a pull is due), and epoch 2 is the one refused now.
	back := now.Add(statusdigest.RetiredWindow)
	if m := apply(statusdigest.Digest{Epoch: 1, Seq: 2, Heartbeat: true}, back); m.Epoch != 1 || m.Current() || !m.Refuses(2, back) {
		t.Fatalf("epoch 1 after the window: %+v", m)
	}
	if found(c2) {
		t.Fatal("epoch 2's entry survived its replica's reset")
	}
	if m := apply(statusdigest.Digest{Epoch: 2, Seq: 1, Heartbeat: true}, back.Add(time.Second)); m.Epoch != 1 {
		t.Fatalf("a late heartbeat of epoch 2 after the return to epoch 1: %+v", m)
	}
	if err := pull(1, c1, back); err != nil || !found(c1) {
		t.Fatalf("a pull of epoch 1: %v, entry found %v", err, found(c1))
	}
}
