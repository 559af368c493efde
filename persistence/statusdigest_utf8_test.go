package persistence

import (
	"strings"
	"testing"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// An error cut at MaxErrorLen bytes ends on a character boundary: cut inside a UTF-8 sequence
// it failed the proto encoding (proto3 strings are UTF-8), and with it the whole write.
func TestDigestErrorCutOnACharacter(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, _ := multihash.Sum([]byte("x"), multihash.SHA2_256, -1)
	c := gocid.NewCidV1(gocid.Raw, h).Bytes()
	e := statusdigest.FromShort(c, api.PinInfoShort{Status: api.TrackerStatusUnpinError, TS: time.Now(),
		Error: "x" + strings.Repeat("é", 300)})
	if _, err := s.WriteOwnDigest([]statusdigest.Entry{e}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := statusdigest.Encode(statusdigest.Digest{Epoch: 1, Seq: 1, Entries: []statusdigest.Entry{e}}); err != nil {
		t.Fatal(err)
	}
}
