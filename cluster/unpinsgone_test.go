package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
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

// A CID another member is still unpinning (its digest says unpin_error) that the pinset no
// longer holds and this peer has done with is listed by every global listing — from the
// replicas (values, JSON lines, text), with a member asked for its part, and --fresh — with
// this peer unpinned and that member's unpin_error; the local listings do not list it, nor
// does a stale replica's unpin make a row.
func TestGlobalListingsHoldOtherMembersUnpins(t *testing.T) {
	w, fresh, stale, silent, _, pins := replicaWorld(t)
	ctx := context.Background()
	d := w.svc.StatusService.d.Digests.(*memDigests)
	gone, staleGone := testCid(t, "unpin failed at fresh"), testCid(t, "unpin failed at stale")
	ts := time.Now().UTC()
	d.entries[fresh][string(gone.Bytes())] = statusdigest.Entry{Cid: gone.Bytes(), Status: api.TrackerStatusUnpinError, Error: "ipfs is down", TS: ts}
	d.entries[stale] = map[string]statusdigest.Entry{string(staleGone.Bytes()): {Cid: staleGone.Bytes(), Status: api.TrackerStatusUnpinError, TS: ts}}
	svc := w.svc.StatusService
	self := w.self.String()
	check := func(how string, filter api.TrackerStatus, local bool, got []api.GlobalPinInfo, text string) {
		t.Helper()
		want := !local && filter != api.TrackerStatusPinned
		at := slices.IndexFunc(got, func(g api.GlobalPinInfo) bool { return g.Cid == gone })
		if text != "" {
			if strings.Contains(text, gone.String()) != want || strings.Contains(text, staleGone.String()) {
				t.Fatalf("%s, filter %v, local %v: text lists the gone CID %v, want %v:\n%s", how, filter, local, !want, want, text)
			}
			return
		}
		if (at >= 0) != want || slices.ContainsFunc(got, func(g api.GlobalPinInfo) bool { return g.Cid == staleGone }) {
			t.Fatalf("%s, filter %v, local %v: the gone CID listed %v, want %v (%d rows)", how, filter, local, at >= 0, want, len(got))
		}
		if !slices.IsSortedFunc(got, func(a, b api.GlobalPinInfo) int { return strings.Compare(a.Cid.KeyString(), b.Cid.KeyString()) }) {
			t.Fatalf("%s: rows not in key order", how)
		}
		if !want {
			return
		}
		g := got[at]
		if st := g.PeerMap[self]; st.Status != api.TrackerStatusUnpinned {
			t.Fatalf("%s: this peer's part %+v, want unpinned", how, st)
		}
		if st := g.PeerMap[fresh.String()]; st.Status != api.TrackerStatusUnpinError || st.Error != "ipfs is down" {
			t.Fatalf("%s: the fresh member's part %+v, want its unpin_error", how, st)
		}
		if filter == 0 && len(got) != len(pins)+1 {
			t.Fatalf("%s: %d rows, want the %d pins and the gone CID", how, len(got), len(pins))
		}
	}
	listings := func(how string) {
		for _, filter := range []api.TrackerStatus{0, api.TrackerStatusUnpinError, api.TrackerStatusError, api.TrackerStatusPinned} {
			for _, local := range []bool{true, false} {
				var rows []api.GlobalPinInfo
				if err := svc.StatusAll(ctx, filter, local, nil, func(g api.GlobalPinInfo) error { rows = append(rows, g); return nil }); err != nil {
					t.Fatal(err)
				}
				check(how+" values", filter, local, rows, "")
				js, txt := svc.StatusJSON, svc.StatusText
				if local {
					js, txt = svc.StatusLocalJSON, svc.StatusLocalText
				}
				var lines []api.GlobalPinInfo
				if err := js(ctx, filter, func(l []byte) error {
					var g api.GlobalPinInfo
					err := json.Unmarshal(l, &g)
					lines = append(lines, g)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				check(how+" json", filter, local, lines, "")
				var text strings.Builder
				if err := txt(ctx, filter, func(b []byte) error { text.Write(b); return nil }); err != nil {
					t.Fatal(err)
				}
				check(how+" text", filter, local, nil, text.String()+"\n")
			}
		}
	}
	listings("replicas")

	// A member without a digest is asked for its part: the listing goes page by page, and
	// --fresh asks everyone. Asked members answer unpinned for the gone CID, pinned otherwise.
	delete(d.metas, silent)
	w.remote.answer = func(to peer.ID, msg any) (any, error) {
		req, ok := msg.(*messages.StatusRequest)
		if !ok {
			return nil, errFake
		}
		infos := make([]api.PinInfo, len(req.Cids))
		for i, c := range req.Cids {
			ci, _ := api.DecodeCid(c)
			st := api.PinInfoShort{Status: api.TrackerStatusPinned, TS: time.Now()}
			if ci == gone {
				st.Status = api.TrackerStatusUnpinned
				if to == fresh {
					st = api.PinInfoShort{Status: api.TrackerStatusUnpinError, Error: "ipfs is down", TS: time.Now()}
				}
			}
			infos[i] = api.PinInfo{Cid: ci, Peer: to, PinInfoShort: st}
		}
		return &messages.StatusResponse{Infos: infos}, nil
	}
	listings("asking")
	for _, filter := range []api.TrackerStatus{0, api.TrackerStatusUnpinError, api.TrackerStatusPinned} {
		var rows []api.GlobalPinInfo
		if err := svc.StatusAllFresh(ctx, filter, nil, func(g api.GlobalPinInfo) error { rows = append(rows, g); return nil }); err != nil {
			t.Fatal(err)
		}
		check("fresh", filter, false, rows, "")
	}
}

// Beyond the bounds of kept unpins: this peer's own failed unpin that was not kept still
// shows as its part of a row another member's digest brings (not unpinned), and the other
// members' failed unpins are kept past a bound's worth of their unpins in progress.
func TestOtherMembersUnpinsBeyondTheBounds(t *testing.T) {
	defer func(n int) { maxUnpinsListed = n }(maxUnpinsListed)
	maxUnpinsListed = 2
	w, fresh, _, _, _, _ := replicaWorld(t)
	ctx := context.Background()
	d := w.svc.StatusService.d.Digests.(*memDigests)
	ts := time.Now().UTC()
	var ownFailed, queued []api.Cid
	for i := range 3 {
		c := testCid(t, fmt.Sprint("failed here and there ", i))
		ownFailed = append(ownFailed, c)
		w.tracker.inFlight[c.KeyString()] = api.PinInfoShort{Status: api.TrackerStatusUnpinError, Error: "here", TS: ts}
		d.entries[fresh][string(c.Bytes())] = statusdigest.Entry{Cid: c.Bytes(), Status: api.TrackerStatusUnpinError, TS: ts}
	}
	for i := range 5 {
		c := testCid(t, fmt.Sprint("queued there ", i))
		queued = append(queued, c)
		d.entries[fresh][string(c.Bytes())] = statusdigest.Entry{Cid: c.Bytes(), Status: api.TrackerStatusUnpinQueued, TS: ts}
	}
	failedThere := testCid(t, "failed there only")
	d.entries[fresh][string(failedThere.Bytes())] = statusdigest.Entry{Cid: failedThere.Bytes(), Status: api.TrackerStatusUnpinError, TS: ts}
	rows := map[api.Cid]api.GlobalPinInfo{}
	if err := w.svc.StatusAll(ctx, api.TrackerStatusUnpinError, false, nil, func(g api.GlobalPinInfo) error { rows[g.Cid] = g; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, c := range ownFailed {
		if g, ok := rows[c]; !ok || g.PeerMap[w.self.String()].Status != api.TrackerStatusUnpinError {
			t.Fatalf("own failed unpin listed %v, this peer's part %+v, want unpin_error", ok, g.PeerMap[w.self.String()])
		}
	}
	if _, ok := rows[failedThere]; !ok {
		t.Fatalf("the other member's failed unpin is not listed past its unpins in progress (%d rows)", len(rows))
	}
	for _, c := range queued {
		if _, ok := rows[c]; ok {
			t.Fatal("filter unpin_error lists an unpin in progress")
		}
	}
}
