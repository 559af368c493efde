package persistence

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multibase"

	"github.com/pincluster/pincluster/api"
)

// mustDecodeAsUnmarshal decodes js as the pin of c and fails unless the result is what
// json.Unmarshal gives (compared through json.Marshal, which writes every field and tells nil
// from empty allocations).
func mustDecodeAsUnmarshal(t testing.TB, d *pinDecoder, c api.Cid, js []byte) {
	t.Helper()
	var want api.Pin
	wantErr := json.Unmarshal(js, &want)
	got, err := d.decode(c, js)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decode error %v, json.Unmarshal error %v, of %s", err, wantErr, js)
	}
	if err != nil {
		return
	}
	gb, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gb, wb) || got.Cid != want.Cid {
		t.Fatalf("decoder:\n%s\njson.Unmarshal:\n%s\nof:\n%s", gb, wb, js)
	}
}

func TestPinDecoderMatchesUnmarshal(t *testing.T) {
	now := time.Date(2026, 12, 4, 7, 0, 0, 123, time.UTC)
	p1, p2 := peer.ID("12D3KooWA"), peer.ID("12D3KooWB")
	base := api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Mode: api.PinModeRecursive}
	named := base
	named.Name = mkCid(t, 7).String() // a name that is a CID string
	meta := base
	meta.Metadata = map[string]string{"k": "v \"quoted\" <tag>"}
	expiring := base
	expiring.ExpireAt = now.Add(time.Hour).In(time.FixedZone("X", 3600))
	direct := base
	direct.Mode = api.PinModeDirect
	var d pinDecoder
	n := 0
	for _, opts := range []api.PinOptions{base, named, meta, expiring, direct, base} {
		for _, allocs := range [][]peer.ID{nil, {}, {p1, p2}, {p2}} {
			for range 5 {
				n++
				c := mkCid(t, n)
				if n%4 == 3 {
					c = api.NewCid(gocid.NewCidV0(c.Hash()))
				}
				pin := api.NewPin(c, opts)
				pin.Allocations = allocs
				pin.Timestamp = now
				mustDecodeAsUnmarshal(t, &d, c, pinJSON2(t, pin))
			}
		}
	}
	if d.full > n/3 {
		t.Fatalf("%d of %d pins decoded in full: the template is not reused", d.full, n)
	}

	// JSON that api.MarshalPin does not write decodes in full, and is never a template.
	c := mkCid(t, 1000)
	pin := api.NewPin(c, base)
	pin.Timestamp = now
	canonical := pinJSON2(t, pin)
	b58, err := c.Cid.StringOfBase(multibase.Base58BTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, js := range [][]byte{
		bytes.Replace(canonical, []byte(c.String()), []byte(b58), 1),                                          // another base
		bytes.Replace(canonical, []byte(`"cid":"`+c.String()+`"`), []byte(`"cid":{"/":"`+c.String()+`"}`), 1), // a link object
		bytes.Replace(canonical, []byte(`,"type"`), []byte(` ,"type"`), 1),                                    // a space
		append(bytes.TrimSuffix(canonical, []byte("}")), `,"cid":"`+mkCid(t, 1001).String()+`"}`...),          // a second cid
		append(bytes.TrimSuffix(canonical, []byte("}")), `,"CID":"`+b58+`"}`...),                              // another spelling
	} {
		for range 2 {
			full := d.full
			mustDecodeAsUnmarshal(t, &d, c, js)
			if d.full != full+1 {
				t.Fatalf("not decoded in full: %s", js)
			}
		}
		// The same JSON around another CID: as json.Unmarshal, which may keep the CID of a
		// later member.
		other := mkCid(t, 1005)
		mustDecodeAsUnmarshal(t, &d, other, bytes.Replace(js, []byte(c.String()), []byte(other.String()), 1))
	}
	// After those, a canonical JSON of the same shape but another CID decodes in full (no
	// template), then serves as one.
	c2 := mkCid(t, 1002)
	pin.Cid = c2
	mustDecodeAsUnmarshal(t, &d, c2, pinJSON2(t, pin))
	full := d.full
	pin.Cid = mkCid(t, 1003)
	mustDecodeAsUnmarshal(t, &d, pin.Cid, pinJSON2(t, pin))
	if d.full != full {
		t.Fatal("canonical JSON after a template: decoded in full")
	}
	// A record whose JSON names another CID than its key decodes as json.Unmarshal does.
	mustDecodeAsUnmarshal(t, &d, mkCid(t, 1004), pinJSON2(t, pin))
	// Not JSON.
	if _, err := d.decode(c, []byte(`{"cid":"`+c.String()+`"`)); err == nil {
		t.Fatal("truncated JSON decoded")
	}
}

func pinJSON2(t testing.TB, pin api.Pin) []byte {
	b, err := json.Marshal(pin)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzPinDecoderMatchesUnmarshal(f *testing.F) {
	f.Add("", "", "", int64(0), 1, 2, "", uint8(0))
	f.Add("name", "key", "value\n\"<>&", int64(1e9), -1, -1, `,"x":1`, uint8(0xff))
	f.Add("\xff\xfe", "", "\u2028", int64(-5), 0, 0, `,"cid":"x"`, uint8(0x5a))
	f.Fuzz(func(t *testing.T, name, mk, mv string, expire int64, rmin, rmax int, extra string, shape uint8) {
		// shape's bits: CIDv0 keys; a shard with a reference; allocations; a zone other
		// than UTC; the name spelling another CID; a key other than the pin's own CID.
		opts := api.PinOptions{ReplicationFactorMin: rmin, ReplicationFactorMax: rmax, Name: name, Mode: api.PinModeRecursive}
		if shape&16 != 0 {
			opts.Name = mkCid(t, 99).String()
		}
		if mk != "" {
			opts.Metadata = map[string]string{mk: mv}
		}
		if expire != 0 {
			opts.ExpireAt = time.Unix(expire, 0).UTC()
		}
		cidOf := func(i int) api.Cid {
			c := mkCid(t, i)
			if shape&1 != 0 {
				return api.NewCid(gocid.NewCidV0(c.Hash()))
			}
			return c
		}
		zone := time.UTC
		if shape&8 != 0 {
			zone = time.FixedZone("x", 3600)
		}
		var d pinDecoder
		for i := range 4 {
			c := cidOf(i)
			pin := api.NewPin(c, opts)
			pin.Timestamp = time.Unix(1700000000, 5).In(zone)
			if shape&2 != 0 {
				ref := cidOf(100 + i%2)
				pin.Type, pin.Reference = api.PinTypeShard, &ref
			}
			if shape&4 != 0 {
				pin.Allocations = []peer.ID{peer.ID("a"), peer.ID("b")}
			}
			if shape&32 != 0 && i == 3 { // stored under another key than its CID
				c = cidOf(98)
			}
			js := pinJSON2(t, pin)
			if i == 2 { // a JSON the encoder does not write: extra members
				js = append(bytes.TrimSuffix(js, []byte("}")), extra+"}"...)
			}
			mustDecodeAsUnmarshal(t, &d, c, js)
		}
	})
}

// BenchmarkPinDecoder: a chunk's pins as a batch ingest stores them (one shape), and pins of
// a shape each (their own timestamps), through the decoder and through json.Unmarshal.
func BenchmarkPinDecoder(b *testing.B) {
	opts := api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Mode: api.PinModeRecursive}
	for _, shapes := range []string{"one shape", "a shape each"} {
		cids := make([]api.Cid, 1024)
		jss := make([][]byte, len(cids))
		for i := range cids {
			cids[i] = mkCid(b, i)
			pin := api.NewPin(cids[i], opts)
			pin.Timestamp = time.Unix(1700000000, 5).UTC()
			if shapes != "one shape" {
				pin.Timestamp = pin.Timestamp.Add(time.Duration(i) * time.Millisecond)
			}
			jss[i] = pinJSON2(b, pin)
		}
		b.Run(shapes+"/decoder", func(b *testing.B) {
			var d pinDecoder
			for i := range b.N {
				if _, err := d.decode(cids[i%len(cids)], jss[i%len(cids)]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(shapes+"/json.Unmarshal", func(b *testing.B) {
			for i := range b.N {
				var p api.Pin
				if err := json.Unmarshal(jss[i%len(cids)], &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
