package persistence

import (
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/wirepb"
	"github.com/pincluster/pincluster/statusdigest"
)

// FuzzDecodeStoredEntry: the field-by-field decoder of stored replica entries agrees with the
// generated one on any bytes: the same entry, or both fail.
func FuzzDecodeStoredEntry(f *testing.F) {
	for _, e := range []statusdigest.Entry{
		{Status: api.TrackerStatusPinned, TS: time.Unix(1_700_000_000, 5).UTC(), Seq: 9},
		{Status: api.TrackerStatusUnpinError, TS: time.Unix(1_700_000_001, 0).UTC(), Error: "boom", Attempts: 3, Priority: true, Seq: 1 << 40},
		{Seq: 4}, // a tombstone
	} {
		w := statusdigest.EntryToWire(e)
		w.Cid = nil
		b, err := proto.Marshal(w)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x10, 0xff})       // a status out of range
	f.Add([]byte{0x0a, 0x02, 1, 2}) // a CID (not stored, but known)
	f.Add([]byte{0x42, 0x01, 0x00}) // an unknown field
	f.Fuzz(func(t *testing.T, b []byte) {
		got := statusdigest.Entry{Error: "left over", Seq: 7} // overwritten whole
		err := decodeStoredEntryTo(b, &got)
		var w wirepb.DigestEntry
		werr := proto.Unmarshal(b, &w)
		if (err != nil) != (werr != nil) {
			t.Fatalf("decoder error %v, generated %v", err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, statusdigest.TrustedEntryFromWire(&w)) {
			t.Fatalf("decoded %+v, generated %+v", got, statusdigest.TrustedEntryFromWire(&w))
		}
	})
}
