package statusdigest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current encoders")

const goldenCid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"

func goldenDigest(t testing.TB) Digest {
	c, err := api.DecodeCid(goldenCid)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1_700_000_000, 123).UTC()
	return Digest{Epoch: 0xfeedbeef, Seq: 42, Entries: []Entry{
		{Cid: c.Bytes(), Status: api.TrackerStatusPinned, TS: ts, Seq: 42},
		{Cid: c.Bytes(), Status: api.TrackerStatusPinError, TS: ts, Error: "context deadline exceeded", Attempts: 3, Priority: true, Seq: 42},
		{Cid: c.Bytes(), Seq: 42}, // a tombstone
	}}
}

// TestDigestGolden pins the bytes of a status digest (testdata/golden/digest.bin): peers of
// different versions must read each other's digests.
func TestDigestGolden(t *testing.T) {
	checkGolden(t, "digest.bin", goldenDigest(t))
}

// checkGolden compares the encoding of d with testdata/golden/name (rewritten with
// -update-golden) and decodes the golden bytes back to d. It returns the golden bytes.
func checkGolden(t *testing.T, name string, d Digest) []byte {
	t.Helper()
	b, err := Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", name)
	if *updateGolden {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-golden once to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("the encoding changed:\n got %x\nwant %x", b, want)
	}
	got, err := Decode(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, d)
	}
	return want
}

func TestDecodeRefusesBadDigests(t *testing.T) {
	good := goldenDigest(t)
	enc := func(d Digest) []byte {
		b, err := Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	withEntry := func(mod func(*Entry)) []byte {
		d := good
		d.Entries = append([]Entry{}, good.Entries...)
		mod(&d.Entries[0])
		return enc(d)
	}
	cases := map[string][]byte{
		"garbage":        []byte("\xff\xff\xff"),
		"too large":      make([]byte, MaxMessage+1),
		"no epoch":       enc(Digest{Seq: 1, Entries: good.Entries}),
		"empty delta":    enc(Digest{Epoch: 1, Seq: 1}),
		"heartbeat+data": enc(Digest{Epoch: 1, Seq: 42, Heartbeat: true, Entries: good.Entries}),
		"bad cid":        withEntry(func(e *Entry) { e.Cid = []byte("nope") }),
		"entry off seq":  withEntry(func(e *Entry) { e.Seq = 41 }),
		"remote status":  withEntry(func(e *Entry) { e.Status = api.TrackerStatusRemote }),
		"error too long": withEntry(func(e *Entry) { e.Error = strings.Repeat("x", MaxErrorLen+1) }),
	}
	for name, b := range cases {
		if name == "error too long" {
			// The encoder cuts long errors: the decoder must refuse a crafted one.
			b = craftLongError(t, good)
		}
		if _, err := Decode(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	many := Digest{Epoch: 1, Seq: 1}
	for range MaxEntries + 1 {
		many.Entries = append(many.Entries, good.Entries[0])
	}
	if _, err := Encode(many); err == nil {
		t.Error("encoded more than MaxEntries entries")
	}
}

func TestMetaVersions(t *testing.T) {
	now := time.Unix(100, 0)
	var m Meta
	m.Reset(9, now)
	m.Applied(2)
	m.Hear(2, now)
	if m.Current() || m.Contiguous != 0 {
		t.Fatalf("a gap is current: %+v", m)
	}
	m.Applied(1)
	m.Hear(1, now)
	if !m.Current() || m.Contiguous != 2 || !m.Updated.Equal(now) {
		t.Fatalf("after filling the gap: %+v", m)
	}
	m.Hear(7, now.Add(time.Second))
	if m.Current() {
		t.Fatal("a heartbeat ahead is current")
	}
	m.Applied(7)
	m.Applied(6)
	m.Pulled(5)
	if !m.Current() || m.Floor != 5 || m.Contiguous != 7 || len(m.Pending) != 0 {
		t.Fatalf("after a pull: %+v", m)
	}
	if why, _ := m.Stale(now.Add(time.Minute), 30*time.Second); why == "" {
		t.Fatal("an old replica is not stale")
	}
	if why, _ := m.Stale(now.Add(10*time.Second), 30*time.Second); why != "" {
		t.Fatalf("a fresh replica is stale: %s", why)
	}
}
