package rpcwire

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"
	"google.golang.org/protobuf/proto"

	gocid "github.com/ipfs/go-cid"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/testpeer"
	"github.com/pincluster/pincluster/internal/wirepb"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/remote"
	"github.com/pincluster/pincluster/statusdigest"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden from the current encoders")

// wirePeer is a peer ID that is the same for the same seed (internal/testpeer).
var wirePeer = testpeer.ID

// rpcSamples holds one value of each remote call, with every field set where it has any, in
// the table's order; the golden files are their protobuf forms.
func rpcSamples(t testing.TB) map[string]any {
	a, b := wirePeer(t, 1), wirePeer(t, 2)
	h, err := multihash.Sum([]byte("golden"), multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	c := api.NewCid(gocid.NewCidV1(gocid.Raw, h))
	ts := time.Date(2026, 12, 1, 12, 0, 0, 123456789, time.UTC)
	vv := map[string]uint64{a.String(): 7, b.String(): 1 << 40}
	return map[string]any{
		"pincluster.IDRequest":         &messages.IDRequest{},
		"pincluster.StatusRequest":     &messages.StatusRequest{Cids: []string{c.String(), "not-a-cid"}},
		"pincluster.SyncRequest":       &messages.SyncRequest{VV: vv, Limit: 1000, Cursor: c.String(), Held: []messages.SeqRange{{Origin: a.String(), From: 9, To: 12}, {Origin: b.String(), From: 1<<40 + 2, To: 1<<40 + 2}}},
		"pincluster.RecoverRequest":    &messages.RecoverRequest{Cid: c.String()},
		"pincluster.RecoverAllRequest": &messages.RecoverAllRequest{},
		"pincluster.GCRequest":         &messages.GCRequest{},
		"pincluster.LeaveRequest":      &messages.LeaveRequest{By: a.String()},
		"pincluster.IDResponse": &messages.IDResponse{ID: api.ID{ID: a, Addresses: []string{"/ip4/127.0.0.1/tcp/9096"},
			ClusterPeers: []libp2ppeer.ID{a, b}, ClusterPeersAddresses: []string{"/ip4/127.0.0.1/tcp/9097"},
			Version: "1.2.3", Commit: "abc", RPCProtocolVersion: "/pincluster/1", Error: "e", Peername: "p1",
			IPFS: api.IPFSID{ID: "12D3KooWipfs", Addresses: []string{"/ip4/127.0.0.1/tcp/4001"}, Error: "ipfs e"}},
			Connected: []libp2ppeer.ID{b}},
		"pincluster.StatusResponse": &messages.StatusResponse{Error: "partial", Infos: []api.PinInfo{{
			Cid: c, Name: "n", Peer: a, Allocations: []libp2ppeer.ID{a, b}, Origins: []string{"/ip4/1.2.3.4/tcp/4001"},
			Created: ts, Metadata: map[string]string{"k": "v", "a": "b"},
			PinInfoShort: api.PinInfoShort{PeerName: "p1", IPFS: "12D3KooWipfs", IPFSAddresses: []string{"/ip4/127.0.0.1/tcp/4001"},
				Status: api.TrackerStatusPinError, TS: ts.Add(time.Second), Error: "boom", AttemptCount: 3, PriorityPin: true}},
			{Peer: b, PinInfoShort: api.PinInfoShort{Status: api.TrackerStatusUnpinned}}}},
		"pincluster.SyncResponse": &messages.SyncResponse{Ops: [][]byte{{1, 2}, {3}}, More: true, VV: vv, Error: "e",
			Snapshot: true, Records: [][]byte{{4}}, Cursor: c.String(), SnapshotVV: map[string]uint64{a.String(): 3},
			Removed: map[string]uint64{b.String(): 9}, Heard: map[string]uint64{a.String(): 1_764_000_000_000}, HeardAt: 1_764_000_005_000},
		"pincluster.GCResponse":       &messages.GCResponse{Result: api.IPFSRepoGC{Peer: b, Peername: "p2", Keys: []string{c.String()}, Error: "gc e"}},
		"pincluster.LeaveResponse":    &messages.LeaveResponse{Error: "e"},
		"pincluster.TokenSyncRequest": &messages.TokenSyncRequest{After: "00112233445566778899aabbccddeeff", Limit: 500},
		"pincluster.TokenSyncResponse": &messages.TokenSyncResponse{More: true, Error: "e", Records: []api.TokenRecord{
			{ID: "00112233445566778899aabbccddeeff", User: "admin", Permissions: []string{"read", "pin"}, IssuedAt: ts,
				ExpiresAt: ts.Add(time.Hour), IssuedBy: a, Revoked: true, RevokedAt: ts.Add(time.Minute), RevokedBy: b},
			{ID: "ffeeddccbbaa99887766554433221100", ExpiresAt: ts.Add(time.Hour), Revoked: true, RevokedAt: ts, RevokedBy: b}}},
		"pincluster.StatusDigestPullRequest": &messages.StatusDigestPullRequest{After: c.Bytes(), Limit: 1000},
		"pincluster.StatusDigestPullResponse": &messages.StatusDigestPullResponse{Epoch: 7, Seq: 42, More: true, Error: "e",
			Entries: []statusdigest.Entry{{Cid: c.Bytes(), Status: api.TrackerStatusPinError, TS: ts, Error: "boom", Attempts: 2,
				Priority: true, Seq: 41}, {Cid: c.Bytes(), Seq: 42}}},
		"pincluster.AppliedRequest":  &messages.AppliedRequest{Origin: a, Seq: 1<<40 + 5, Wait: 15 * time.Second},
		"pincluster.AppliedResponse": &messages.AppliedResponse{Seq: 1 << 40, Error: "e"},
	}
}

// Every call of the table sends its protobuf form and reads the JSON form of the previous
// release under the same name and an earlier version, for the same Go type.
func TestRPCProtoForms(t *testing.T) {
	for _, e := range rpcPolicy {
		p, j := e.codec, e.legacy
		if j.Name == "" {
			continue // a call new in this release (token sync): no earlier form
		}
		if p.Name != j.Name || p.Version <= j.Version || p.ReceiveOnly || !j.ReceiveOnly || reflect.TypeOf(p.New()) != reflect.TypeOf(j.New()) {
			t.Errorf("%s/%d: protobuf form (receive only %v, %T) does not follow JSON form %s/%d (receive only %v, %T)",
				p.Name, p.Version, p.ReceiveOnly, p.New(), j.Name, j.Version, j.ReceiveOnly, j.New())
		}
	}
}

// TestRPCProtoGolden pins the bytes of each call's protobuf form (testdata/golden, so a later
// version still reads what this one wrote) and checks that they decode to the same value as
// its JSON form does.
func TestRPCProtoGolden(t *testing.T) {
	samples := rpcSamples(t)
	if len(samples) != len(rpcPolicy) {
		t.Fatalf("%d samples for %d calls: add one for the new call", len(samples), len(rpcPolicy))
	}
	for _, e := range rpcPolicy {
		t.Run(e.codec.Name, func(t *testing.T) {
			v, ok := samples[e.codec.Name]
			if !ok {
				t.Fatal("no sample")
			}
			enc, err := e.codec.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", e.codec.Name+".bin")
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
				t.Errorf("encoding changed:\n got %x\nwant %x", enc, want)
			}
			fromProto := e.codec.New()
			if err := e.codec.Unmarshal(want, fromProto); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromProto, v) {
				t.Fatalf("decoded %+v\nwant %+v", fromProto, v)
			}
			if e.legacy.Name == "" {
				return
			}
			fromJSON := jsonRoundTrip(t, e.legacy, v)
			if !reflect.DeepEqual(fromProto, fromJSON) {
				t.Fatalf("protobuf and JSON forms differ:\n%+v\n%+v", fromProto, fromJSON)
			}
		})
	}
}

func jsonRoundTrip(t *testing.T, c remote.Codec, v any) any {
	t.Helper()
	b, err := c.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out := c.New()
	if err := c.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzRPCProtoDecode feeds hostile bytes to the protobuf form of each call (sel picks it): no
// panic, and what decodes re-encodes to a value that decodes to the same.
func FuzzRPCProtoDecode(f *testing.F) {
	samples := rpcSamples(f)
	for i, e := range rpcPolicy {
		enc, err := e.codec.Marshal(samples[e.codec.Name])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), enc)
	}
	f.Add(uint8(0), []byte{0xff})
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		c := rpcPolicy[int(sel)%len(rpcPolicy)].codec
		v := c.New()
		if err := c.Unmarshal(data, v); err != nil {
			return
		}
		enc, err := c.Marshal(v)
		if err != nil {
			t.Fatalf("%s: re-encoding a decoded value failed: %v", c.Name, err)
		}
		again := c.New()
		if err := c.Unmarshal(enc, again); err != nil {
			t.Fatalf("%s: re-decoding failed: %v", c.Name, err)
		}
		if !reflect.DeepEqual(v, again) {
			t.Fatalf("%s: round trip changed the value:\n%+v\n%+v", c.Name, v, again)
		}
	})
}

// FuzzRPCJSONDecode feeds hostile bytes to the JSON form of each call that older peers send
// (sel picks it): no panic, and what decodes survives the protobuf form this peer sends.
func FuzzRPCJSONDecode(f *testing.F) {
	samples := rpcSamples(f)
	for i, e := range rpcPolicy {
		if e.legacy.Name == "" {
			continue
		}
		enc, err := e.legacy.Marshal(samples[e.codec.Name])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), enc)
	}
	f.Add(uint8(0), []byte("null"))
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		e := rpcPolicy[int(sel)%len(rpcPolicy)]
		if e.legacy.Name == "" {
			return // no JSON form (token sync)
		}
		v := e.legacy.New()
		if err := e.legacy.Unmarshal(data, v); err != nil {
			return
		}
		// A value JSON accepts has a protobuf form (JSON strings are valid UTF-8).
		if _, err := e.codec.Marshal(v); err != nil {
			t.Fatalf("%s: JSON value has no protobuf form: %v", e.codec.Name, err)
		}
	})
}

// An AppliedRequest's wait is capped (no caller parks a request for long) and a negative
// wait or a bad origin is refused.
func TestAppliedRequestBounds(t *testing.T) {
	enc := func(w *wirepb.AppliedRequest) []byte {
		b, err := proto.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var m messages.AppliedRequest
	if err := protoAppliedRequest.Unmarshal(enc(&wirepb.AppliedRequest{Origin: []byte(wirePeer(t, 1)), Seq: 9, WaitMs: 1 << 40}), &m); err != nil {
		t.Fatal(err)
	}
	if m.Wait != time.Duration(maxAppliedWaitMs)*time.Millisecond || m.Seq != 9 {
		t.Fatalf("decoded %+v, want the wait capped at %d ms", m, maxAppliedWaitMs)
	}
	for _, w := range []*wirepb.AppliedRequest{{Origin: []byte(wirePeer(t, 1)), WaitMs: -1}, {Origin: []byte("not a peer id"), WaitMs: 10}} {
		if err := protoAppliedRequest.Unmarshal(enc(w), &messages.AppliedRequest{}); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("%+v: err = %v, want invalid", w, err)
		}
	}
}

// An IDResponse of a peer from before the connected field (its golden bytes then) still
// decodes, with no connections: the health graph links that member to the asker alone.
func TestIDResponseBeforeConnected(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "pincluster.IDResponse.before-connected.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var m messages.IDResponse
	if err := protoIDResponse.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.ID.Peername != "p1" || m.Connected != nil {
		t.Fatalf("decoded %+v", m)
	}
}
