package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
)

func encCid(t testing.TB, i int, v0 bool) api.Cid {
	h, err := multihash.Sum(fmt.Appendf(nil, "pinjson-%d", i), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	if v0 {
		return api.NewCid(gocid.NewCidV0(h))
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

func mustEqualMarshal(t testing.TB, e *pinEncoder, pin api.Pin) {
	t.Helper()
	want, err := json.Marshal(pin)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.encode(pin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoder:\n%s\njson.Marshal:\n%s", got, want)
	}
}

func TestPinEncoderMatchesJSONMarshal(t *testing.T) {
	now := time.Date(2026, 12, 2, 7, 0, 0, 123, time.UTC)
	p1, p2 := peer.ID("12D3KooWA"), peer.ID("12D3KooWB")
	base := api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Mode: api.PinModeRecursive}
	named := base
	named.Name = encCid(t, 7, false).String() // a name that is a CID string
	meta := base
	meta.Metadata = map[string]string{"k": "v \"quoted\" <tag>"}
	expiring := base
	expiring.ExpireAt = now.Add(time.Hour).In(time.FixedZone("X", 3600))
	direct := base
	direct.Mode = api.PinModeDirect
	empty := base
	empty.Metadata = map[string]string{}
	var e pinEncoder
	n := 0
	for _, opts := range []api.PinOptions{base, named, meta, expiring, direct, empty, base} {
		for _, allocs := range [][]peer.ID{nil, {}, {p1, p2}, {p2}} {
			for i := range 5 {
				n++
				pin := api.NewPin(encCid(t, n, i%4 == 3), opts)
				if allocs != nil {
					pin.Allocations = allocs
				}
				pin.Timestamp = now
				mustEqualMarshal(t, &e, pin)
			}
		}
	}
	// Name holding a CID: its own CID then occurs twice only for cid 7, which is not used.
	if e.marshalled > n/3 {
		t.Fatalf("%d of %d pins marshalled: the template is not reused", e.marshalled, n)
	}
	// A pin whose CID string occurs twice (its name is its CID) is marshalled, and right.
	c := encCid(t, 1000, false)
	o := base
	o.Name = c.String()
	pin := api.NewPin(c, o)
	pin.Timestamp = now
	mustEqualMarshal(t, &e, pin)
	pin2 := api.NewPin(encCid(t, 1001, false), o)
	pin2.Timestamp = now
	mustEqualMarshal(t, &e, pin2)
}

// sameShape must compare every field: a field added to api.Pin or api.PinOptions must be
// added there too (or the encoder could reuse a template that differs in it).
func TestSameShapeKnowsEveryPinField(t *testing.T) {
	var names []string
	for _, typ := range []reflect.Type{reflect.TypeFor[api.Pin](), reflect.TypeFor[api.PinOptions]()} {
		for f := range typ.Fields() {
			if !f.Anonymous {
				names = append(names, f.Name)
			}
		}
	}
	want := []string{"Cid", "Type", "Allocations", "MaxDepth", "Reference", "Timestamp",
		"ReplicationFactorMin", "ReplicationFactorMax", "Name", "Mode", "UserAllocations", "ExpireAt", "Metadata", "PinUpdate", "Origins"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("pin fields %v, sameShape compares %v: update sameShape and this list", names, want)
	}
}

func FuzzPinEncoderMatchesJSONMarshal(f *testing.F) {
	f.Add("", "", "", int64(0), 1, 2)
	f.Add("name", "key", "value\n\"<>&", int64(1e9), -1, -1)
	f.Add("\xff\xfe", "", "\u2028", int64(-5), 0, 0)
	f.Fuzz(func(t *testing.T, name, mk, mv string, expire int64, rmin, rmax int) {
		opts := api.PinOptions{ReplicationFactorMin: rmin, ReplicationFactorMax: rmax, Name: name, Mode: api.PinModeRecursive}
		if mk != "" {
			opts.Metadata = map[string]string{mk: mv}
		}
		if expire != 0 {
			opts.ExpireAt = time.Unix(expire, 0).UTC()
		}
		var e pinEncoder
		for i := range 3 {
			pin := api.NewPin(encCid(t, i, i == 2), opts)
			pin.Timestamp = time.Unix(1700000000, 5).UTC()
			mustEqualMarshal(t, &e, pin)
		}
	})
}

// BenchmarkPinJSON: a chunk's pins, all with the same options, through the encoder and
// through json.Marshal.
func BenchmarkPinJSON(b *testing.B) {
	opts := api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Mode: api.PinModeRecursive}
	pins := make([]api.Pin, 1024)
	for i := range pins {
		pins[i] = api.NewPin(encCid(b, i, false), opts)
		pins[i].Timestamp = time.Unix(1700000000, 5).UTC()
	}
	b.Run("encoder", func(b *testing.B) {
		var e pinEncoder
		for i := range b.N {
			if _, err := e.encode(pins[i%len(pins)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		for i := range b.N {
			if _, err := json.Marshal(pins[i%len(pins)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
