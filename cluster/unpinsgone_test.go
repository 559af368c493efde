package cluster

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// A CID the pinset no longer holds whose unpin failed here is listed by every listing —
// global and local, values, JSON lines and text — after the pinset's CIDs, with this peer's
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
				last := len(got) > 0 && got[len(got)-1].Cid == gone
				if last != want {
					t.Fatalf("local %v, filter %v, %s: the gone CID listed last %v, want %v (%d rows)", local, filter, name, last, want, len(got))
				}
				if !want {
					continue
				}
				g := got[len(got)-1]
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
