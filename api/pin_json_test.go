package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// pinJSONCases are pins built directly, with what JSON input cannot carry (invalid UTF-8,
// zones with seconds in their offset, years RFC 3339 cannot hold).
func pinJSONCases(t testing.TB) []Pin {
	c, err := DecodeCid("bafkreiaaaa7uqm43xtlb6j4fexp42gpnqb4464xskzbbof7cotcweqosaq")
	if err != nil {
		t.Fatal(err)
	}
	v0, err := DecodeCid("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.Decode("12D3KooWLwPJGKJtbNBBRM3pJWBJ6YG4ggHQDQMZEc3T1dw69cia")
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 12, 3, 17, 26, 50, 280398562, time.UTC)
	plain := NewPin(c, PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	plain.Timestamp = ts
	full := plain
	full.Type = PinTypeShard
	full.Allocations = []peer.ID{id, ""}
	full.MaxDepth = 1
	full.Reference = &v0
	full.PinOptions = PinOptions{
		ReplicationFactorMin: 2, ReplicationFactorMax: 3, Name: `a "name" <b>&\ é` + "\x01\u2028",
		Mode: PinModeDirect, UserAllocations: []peer.ID{id}, ExpireAt: ts.In(time.FixedZone("x", 5*3600+30*60)),
		Metadata:  map[string]string{"z": "1", "a": "<2>", "": "", "m\xff": "bad\xfe utf8"},
		PinUpdate: v0, Origins: []string{"/ip4/1.2.3.4/tcp/4001/p2p/" + id.String(), ""},
	}
	nilAllocs := plain
	nilAllocs.Allocations = nil
	undefRef := plain
	undefRef.Reference = &Cid{}
	undefRef.Cid = Cid{}
	emptyLists := plain
	emptyLists.UserAllocations, emptyLists.Origins, emptyLists.Metadata = []peer.ID{}, []string{}, map[string]string{}
	secondsZone := plain
	secondsZone.Timestamp = ts.In(time.FixedZone("s", 3600+7))
	farFuture := plain
	farFuture.ExpireAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	negYear := plain
	negYear.Timestamp = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	zero := Pin{}
	return []Pin{plain, full, nilAllocs, undefRef, emptyLists, secondsZone, farFuture, negYear, zero}
}

// TestAppendPinJSONIsMarshal: byte for byte json.Marshal's output, or an error where it errs.
func TestAppendPinJSONIsMarshal(t *testing.T) {
	for i, p := range pinJSONCases(t) {
		checkPinJSON(t, i, &p)
	}
}

func FuzzAppendPinJSON(f *testing.F) {
	for _, p := range pinJSONCases(f) {
		if b, err := json.Marshal(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"cid":"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o","metadata":{"\u003c":"\ud800"},"expire_at":"2026-01-02T03:04:05.5-07:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Pin
		if json.Unmarshal(data, &p) != nil {
			return
		}
		checkPinJSON(t, 0, &p)
	})
}

func checkPinJSON(t *testing.T, i int, p *Pin) {
	t.Helper()
	want, werr := json.Marshal(p)
	got, gerr := AppendPinJSON([]byte("prefix"), p)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("case %d: json.Marshal error %v, AppendPinJSON error %v", i, werr, gerr)
	}
	if werr != nil {
		return
	}
	if got, ok := bytes.CutPrefix(got, []byte("prefix")); !ok || !bytes.Equal(got, want) {
		t.Fatalf("case %d:\n got  %s\n want %s", i, got, want)
	}
}

func BenchmarkPinJSON(b *testing.B) {
	p := pinJSONCases(b)[0]
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendPinJSON", func(b *testing.B) {
		for b.Loop() {
			if _, err := AppendPinJSON(nil, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestAppendPinJSONKnowsEveryField fails when Pin or PinOptions gains a field: AppendPinJSON
// writes each by hand, so a new one needs its line there (and a value in pinJSONCases' full pin).
func TestAppendPinJSONKnowsEveryField(t *testing.T) {
	if n := reflect.TypeFor[Pin]().NumField(); n != 7 {
		t.Errorf("api.Pin has %d fields, AppendPinJSON writes 7 (with the embedded PinOptions)", n)
	}
	if n := reflect.TypeFor[PinOptions]().NumField(); n != 9 {
		t.Errorf("api.PinOptions has %d fields, AppendPinJSON writes 9", n)
	}
}
