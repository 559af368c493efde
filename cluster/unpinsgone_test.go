package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// A CID the pinset no longer holds whose unpin failed here is listed by every listing —
// global and local, values, JSON lines and text — among the pinset's CIDs in key order, with this peer's
// unpin_error and the other members' parts as their digests have them (unpinned without an
// entry); the filters that match it find it, the others do not.
func TestListingsHoldUnpinsOfCIDsGone(t *testing.T) {
	w, fresh, _, _, _, pins := replicaWorld(t)
	ctx := context.Background()
	gone := testCid(t, "unpinned, unpin failed here")
	w.tracker.inFlight[gone.KeyString()] = api.PinInfoShort{Status: api.TrackerStatusUnpinError, Error: "ipfs is down", TS: time.Now().UTC()}
	w.svc.StatusService.d.Digests.(*memDigests).entries[fresh][string(gone.Bytes())] = statusdigest.Entry{Cid: gone.Bytes(), Status: api.TrackerStatusUnpinning, TS: time.Now().UTC()}
	svc := w.svc.StatusService
	self, key := w.self.String(), gone.String()
	for _, filter := range []api.TrackerStatus{0, api.TrackerStatusUnpinError, api.TrackerStatusError, api.TrackerStatusPinned} {
		want := filter != api.TrackerStatusPinned
		for _, local := range []bool{true, false} {
			var rows []api.GlobalPinInfo
			if err := svc.StatusAll(ctx, filter, local, nil, func(g api.GlobalPinInfo) error { rows = append(rows, g); return nil }); err != nil {
				t.Fatal(err)
			}
			var lines []api.GlobalPinInfo
			js := svc.StatusJSON
			if local {
				js = svc.StatusLocalJSON
			}
			if err := js(ctx, filter, func(l []byte) error {
				var g api.GlobalPinInfo
				err := json.Unmarshal(l, &g)
				lines = append(lines, g)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			txt := svc.StatusText
			if local {
				txt = svc.StatusLocalText
			}
			if err := txt(ctx, filter, func(b []byte) error { text.Write(b); return nil }); err != nil {
				t.Fatal(err)
			}
			for name, got := range map[string][]api.GlobalPinInfo{"values": rows, "json": lines} {
				at := slices.IndexFunc(got, func(g api.GlobalPinInfo) bool { return g.Cid == gone })
				if (at >= 0) != want {
					t.Fatalf("local %v, filter %v, %s: the gone CID listed %v, want %v (%d rows)", local, filter, name, at >= 0, want, len(got))
				}
				if !slices.IsSortedFunc(got, func(a, b api.GlobalPinInfo) int { return strings.Compare(a.Cid.KeyString(), b.Cid.KeyString()) }) {
					t.Fatalf("local %v, filter %v, %s: rows not in key order", local, filter, name)
				}
				if !want {
					continue
				}
				g := got[at]
				if st := g.PeerMap[self]; st.Status != api.TrackerStatusUnpinError || st.Error != "ipfs is down" {
					t.Fatalf("local %v, %s: this peer's part %+v", local, name, st)
				}
				if !local && g.PeerMap[fresh.String()].Status != api.TrackerStatusUnpinning {
					t.Fatalf("%s: the fresh member's part %+v, want its digest's unpinning", name, g.PeerMap[fresh.String()])
				}
				if filter == 0 && len(got) != len(pins)+1 {
					t.Fatalf("local %v, %s: %d rows, want the %d pins and the gone CID", local, name, len(got), len(pins))
				}
			}
			if strings.Contains(text.String(), key) != want {
				t.Fatalf("local %v, filter %v: text lists the gone CID %v, want %v:\n%s", local, filter, !want, want, text.String())
			}
		}
	}
}

// The listing that asks the members (no digest replica here) lists a CID once when it is
// unpinned while the listing walks the pinset, after its page went out: it read the unpins in
// flight before the walk. And the unpins kept are bounded per kind, so failed unpins of CIDs
// no longer pinned are listed past a bound's worth of other unpins.
func TestPagedListingListsAnUnpinnedCIDOnce(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var cids []api.Cid
	for i := range statusPage + 10 {
		p := api.NewPin(testCid(t, fmt.Sprint("paged ", i)), api.PinOptions{})
		w.store.put(t, p)
		cids = append(cids, p.Cid)
	}
	slices.SortFunc(cids, func(a, b api.Cid) int { return strings.Compare(a.KeyString(), b.KeyString()) })
	first := cids[0]
	seen := map[api.Cid]int{}
	err := w.svc.StatusAll(ctx, 0, false, nil, func(g api.GlobalPinInfo) error {
		if seen[g.Cid]++; g.Cid == first && seen[g.Cid] == 1 {
			// Unpinned after its page went out: the tracker now unpins it.
			w.store.mu.Lock()
			delete(w.store.pins, first.KeyString())
			w.store.mu.Unlock()
			w.tracker.inFlight[first.KeyString()] = api.PinInfoShort{Status: api.TrackerStatusUnpinQueued}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen[first] != 1 || len(seen) != len(cids) {
		t.Fatalf("the CID unpinned during the walk listed %d times; %d CIDs listed, want %d", seen[first], len(seen), len(cids))
	}
}

// Past maxUnpinsListed unpins in progress, a failed one is still kept.
func TestUnpinsInFlightBoundPerKind(t *testing.T) {
	var u unpinsInFlight
	for i := range maxUnpinsListed + 10 {
		c := testCid(t, fmt.Sprint("queued ", i))
		u.add(c, c.KeyString(), api.PinInfoShort{Status: api.TrackerStatusUnpinQueued})
	}
	failed := testCid(t, "failed")
	u.add(failed, failed.KeyString(), api.PinInfoShort{Status: api.TrackerStatusUnpinError})
	n, found := 0, false
	if err := u.cursor().before(nil, func(_, _ []byte, st api.PinInfoShort, c api.Cid) error {
		n++
		found = found || c == failed && st.Status == api.TrackerStatusUnpinError
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != maxUnpinsListed+1 || !found {
		t.Fatalf("kept %d unpins (failed one kept: %v), want %d with the failed one", n, found, maxUnpinsListed+1)
	}
}
