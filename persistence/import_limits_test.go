package persistence

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// An imported pin obeys the name and metadata limits of every other entry point (api's
// PinOptions.ValidateLimits): a file with one pin over them is refused, naming the line, and
// the pinset already there is left as it was.
func TestImportRefusesPinsOverTheLimits(t *testing.T) {
	line := func(i int, name string, meta map[string]string) string {
		b, err := json.Marshal(map[string]any{"cid": mkCid(t, i).String(), "name": name, "metadata": meta})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	manyKeys := map[string]string{}
	for i := range api.MaxMetadataKeys + 1 {
		manyKeys[fmt.Sprintf("k%d", i)] = "v"
	}
	tests := []struct {
		name    string
		bad     string
		wantMsg string
	}{
		{"name of 256 bytes", line(12, strings.Repeat("n", api.MaxPinNameBytes+1), nil), "pin name is 256 bytes"},
		{"too many metadata keys", line(12, "x", manyKeys), "metadata has 65 keys"},
		{"empty metadata key", line(12, "x", map[string]string{"": "v"}), "empty key"},
		{"metadata key of 256 bytes", line(12, "x", map[string]string{strings.Repeat("k", 256): "v"}), "over the limit of 255"},
		{"metadata over 16 KiB", line(12, "x", map[string]string{"k": strings.Repeat("v", api.MaxMetadataBytes)}), "metadata is 16385 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTemp(t)
			origin := newPeer(t, 1)
			for i := 1; i <= 3; i++ {
				mustApply(t, s, pinOp(t, origin, uint64(i), crdt.HLC(i), mkCid(t, i), fmt.Sprintf("old%d", i)))
			}
			before := dumpPins(t, s)
			// The bad pin is on line 3, after a good one, so it is not the first thing read.
			in := `{"pincluster_state":1,"pins":3}` + "\n" + line(10, "good", nil) + "\n" + tc.bad + "\n" + line(11, "good", nil) + "\n"
			called := false
			n, err := s.Import(t.Context(), strings.NewReader(in), func(p api.Pin) crdt.Op {
				called = true
				return pinOp(t, origin, 100, 100, p.Cid, p.Name)
			})
			if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), "line 3") ||
				!strings.Contains(err.Error(), mkCid(t, 12).String()) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v; want ErrInvalid naming line 3, its CID and %q", err, tc.wantMsg)
			}
			if n != 0 || called {
				t.Fatalf("a refused file imported %d pins (mkOp called: %v)", n, called)
			}
			if after := dumpPins(t, s); after != before {
				t.Fatalf("pinset changed by a refused import:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}

	// At the limits is fine, in both formats.
	s, _ := openTemp(t)
	atLimit := map[string]string{strings.Repeat("k", api.MaxMetadataKeyBytes): "v"}
	longName := strings.Repeat("n", api.MaxPinNameBytes)
	for _, in := range []string{
		`{"pincluster_state":1}` + "\n" + line(20, longName, atLimit) + "\n",
		strings.Replace(line(21, longName, atLimit), `{`, `{"type":2,`, 1) + "\n", // IPFS Cluster's
	} {
		if n, err := s.Import(t.Context(), strings.NewReader(in), opMaker(t, newPeer(t, 1), s)); err != nil || n != 1 {
			t.Fatalf("pin at the limits: imported %d, %v", n, err)
		}
	}
	if p, ok, _ := s.GetPin(mkCid(t, 21)); !ok || p.Name != longName {
		t.Fatalf("pin at the limits not stored: %+v %v", p, ok)
	}
}
