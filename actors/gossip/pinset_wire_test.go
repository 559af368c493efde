package gossip

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/klauspost/compress/s2"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// ingestBatch is a batch of n pin ops shaped like a batch ingest's (default options, random
// CIDs): unsigned (as this peer sends it) and signed by its origin (as older peers do).
func ingestBatch(t testing.TB, n int) (unsigned, signed []byte, pub crypto.PubKey) {
	t.Helper()
	priv, pub, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{3}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	origin, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	b := crdt.Batch{Origin: origin}
	at := time.Date(2026, 12, 3, 2, 23, 9, 0, time.UTC)
	for i := 1; i <= n; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprint("pin ", i)))
		hash, err := mh.Encode(sum[:], mh.SHA2_256)
		if err != nil {
			t.Fatal(err)
		}
		c := api.NewCid(gocid.NewCidV1(gocid.Raw, hash))
		pin := fmt.Sprintf(`{"cid":%q,"type":"pin","allocations":[],"max_depth":-1,"timestamp":%q,`+
			`"replication_factor_min":-1,"replication_factor_max":-1,"name":"","mode":"recursive"}`,
			c.String(), at.Add(time.Duration(i)*time.Microsecond).Format(time.RFC3339Nano))
		b.Ops = append(b.Ops, crdt.Op{Origin: origin, Seq: uint64(i), Clock: crdt.HLC(1 << 40 * uint64(i)),
			Kind: crdt.OpPin, Cid: c, PinJSON: []byte(pin)})
	}
	signed, err = crdt.SignAndMarshal(b, priv.Sign)
	if err != nil {
		t.Fatal(err)
	}
	return crdt.MarshalBatch(b), signed, pub
}

// A message decodes to the unsigned batch, authenticated by its author; it is much smaller.
func TestPinsetMessageRoundTrip(t *testing.T) {
	data, _, _ := ingestBatch(t, 2000)
	msg := encodePinsetMessage(data)
	if msg[0] != compressedMark || msg[1] != codecS2Authored {
		t.Fatalf("header %x", msg[:2])
	}
	if len(msg)*2 > len(data) {
		t.Errorf("compressed %d bytes of %d: less than 2x", len(msg), len(data))
	}
	t.Logf("batch of 2000 ops: %d bytes, compressed %d (%.1fx)", len(data), len(msg), float64(len(data))/float64(len(msg)))
	got, byAuthor, err := decodePinsetMessage(msg)
	if err != nil || !byAuthor {
		t.Fatalf("by author %v, err %v", byAuthor, err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("decoded message differs from the batch")
	}
}

// The forms older peers send, a signed batch as it is or compressed, are read as signed
// batches that still verify.
func TestPinsetMessageSignedForms(t *testing.T) {
	_, signed, pub := ingestBatch(t, 3)
	if signed[0] == compressedMark {
		t.Fatal("a batch's encoding starts with the compressed mark")
	}
	compressed := append([]byte{compressedMark, codecS2}, s2.Encode(nil, signed)...)
	for name, msg := range map[string][]byte{"as it is": signed, "compressed": compressed} {
		got, byAuthor, err := decodePinsetMessage(msg)
		if err != nil || byAuthor || !bytes.Equal(got, signed) {
			t.Fatalf("%s: by author %v, err %v, same bytes %v", name, byAuthor, err, bytes.Equal(got, signed))
		}
		b, err := crdt.UnmarshalBatch(got)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := pub.Verify(crdt.ReceivedSigningBytes(nil, got, b), b.Signature); err != nil || !ok {
			t.Fatalf("%s: decoded batch does not verify: %v", name, err)
		}
	}
}

func TestPinsetMessageRejectsBadInput(t *testing.T) {
	data, _, _ := ingestBatch(t, 10)
	good := encodePinsetMessage(data)
	huge := append([]byte{compressedMark, codecS2}, s2.Encode(nil, make([]byte, maxPubsubMessage+1))...)
	for name, msg := range map[string][]byte{
		"mark only":     {compressedMark},
		"unknown codec": append([]byte{compressedMark, 0x03}, good[2:]...),
		"truncated":     good[:len(good)/2],
		"no block":      {compressedMark, codecS2},
		"over the size": huge,
		"garbage":       {compressedMark, codecS2, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00},
	} {
		if _, _, err := decodePinsetMessage(msg); !errors.Is(err, errPinsetFrame) {
			t.Errorf("%s: err %v, want errPinsetFrame", name, err)
		}
	}
}

// FuzzDecodePinsetMessage: a pinset message is outside input (any peer with the secret).
func FuzzDecodePinsetMessage(f *testing.F) {
	data, signed, _ := ingestBatch(f, 5)
	f.Add(signed)
	f.Add(encodePinsetMessage(data))
	f.Add(append([]byte{compressedMark, codecS2}, s2.Encode(nil, signed)...))
	f.Add([]byte{compressedMark, codecS2Authored})
	f.Fuzz(func(t *testing.T, msg []byte) {
		got, _, err := decodePinsetMessage(msg)
		if err != nil {
			return
		}
		if len(got) > maxPubsubMessage && msg[0] == compressedMark {
			t.Fatalf("decoded %d bytes, over the limit", len(got))
		}
		again, _, err := decodePinsetMessage(encodePinsetMessage(got))
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("round trip of a decoded message: %v", err)
		}
	})
}

func BenchmarkPinsetMessage(b *testing.B) {
	data, _, _ := ingestBatch(b, 2000)
	msg := encodePinsetMessage(data)
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			encodePinsetMessage(data)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := decodePinsetMessage(msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
