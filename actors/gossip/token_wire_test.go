package gossip

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/tokenwire"
)

func (f *fakes) Merge(from peer.ID, recs []api.TokenRecord) { f.tokens = append(f.tokens, recs...) }
func (f *fakes) Joined(peer.ID)                             {}

func sampleTokens(t testing.TB) []api.TokenRecord {
	a, b := wirePeer(t, 1), wirePeer(t, 2)
	ts := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	return []api.TokenRecord{
		{ID: "00112233445566778899aabbccddeeff", User: "admin", Permissions: []string{"admin"}, IssuedAt: ts,
			ExpiresAt: ts.Add(24 * time.Hour), IssuedBy: a},
		{ID: "ffeeddccbbaa99887766554433221100", User: "ops", Permissions: []string{"read", "pin"}, IssuedAt: ts,
			ExpiresAt: ts.Add(time.Hour), IssuedBy: a, Revoked: true, RevokedAt: ts.Add(time.Minute), RevokedBy: b},
	}
}

// TestTokensGolden pins the bytes of a tokens message (testdata/golden/tokens.bin).
func TestTokensGolden(t *testing.T) {
	recs := sampleTokens(t)
	enc, err := tokenwire.EncodeRecords(recs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "golden", "tokens.bin")
	if *updateGolden {
		if err := os.WriteFile(path, enc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-golden once to create it)", err)
	}
	if !bytes.Equal(enc, want) {
		t.Fatalf("tokens bytes changed:\n got %x\nwant %x", enc, want)
	}
	got, err := tokenwire.DecodeRecords(want)
	if err != nil || !reflect.DeepEqual(got, recs) {
		t.Fatalf("decode: %+v %v", got, err)
	}
}

func TestTokensRejectBadInput(t *testing.T) {
	good := sampleTokens(t)[0]
	for name, rec := range map[string]api.TokenRecord{
		"bad id":           func() api.TokenRecord { r := good; r.ID = "../../m/count"; return r }(),
		"no expiry":        func() api.TokenRecord { r := good; r.ExpiresAt = time.Time{}; return r }(),
		"revoked, no time": func() api.TokenRecord { r := good; r.Revoked = true; return r }(),
	} {
		enc, err := tokenwire.EncodeRecords([]api.TokenRecord{good, rec})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tokenwire.DecodeRecords(enc); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	for name, data := range map[string][]byte{
		"not protobuf": {0xff, 0xff, 0xff},
		"bad peer":     {0x0a, 0x04, 0x32, 0x02, 0x00, 0x01},
		"too large":    make([]byte, tokenwire.MaxMessage+1),
	} {
		if _, err := tokenwire.DecodeRecords(data); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// TestReaderTokensTrust: records published by a trusted peer reach the tokens actor; those of
// an untrusted or removed peer do not (a revocation from anyone would lock users out).
func TestReaderTokensTrust(t *testing.T) {
	r, f := newReader(t)
	trusted, untrusted, removed := wirePeer(t, 3), wirePeer(t, 4), wirePeer(t, 5)
	f.trusted[trusted], f.trusted[removed] = true, true
	f.removed[removed] = 1
	enc, _ := tokenwire.EncodeRecords(sampleTokens(t))
	r.onTokens(message(untrusted, untrusted, enc))
	r.onTokens(message(removed, trusted, enc))
	if len(f.tokens) != 0 {
		t.Fatalf("took %d records from an untrusted or removed peer", len(f.tokens))
	}
	r.onTokens(message(trusted, untrusted, enc))
	if len(f.tokens) != 2 {
		t.Fatalf("took %d records from a trusted peer, want 2", len(f.tokens))
	}
	r.onTokens(message(trusted, trusted, []byte{0xff}))
	if len(f.tokens) != 2 {
		t.Fatal("an undecodable message delivered records")
	}
}

// FuzzDecodeTokens: a tokens message is outside input (any peer's pubsub message). What
// decodes re-encodes to the same records.
func FuzzDecodeTokens(f *testing.F) {
	enc, _ := tokenwire.EncodeRecords(sampleTokens(f))
	f.Add(enc)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := tokenwire.DecodeRecords(data)
		if err != nil {
			return
		}
		again, err := tokenwire.EncodeRecords(recs)
		if err != nil {
			t.Fatal(err)
		}
		back, err := tokenwire.DecodeRecords(again)
		if err != nil || !reflect.DeepEqual(back, recs) {
			t.Fatalf("round trip: %+v %v", back, err)
		}
	})
}
