package gossip

import (
	"bytes"
	"log/slog"
	"testing"

	gocid "github.com/ipfs/go-cid"
	"github.com/klauspost/compress/s2"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// fakes of the owners the readers deliver to.
type fakes struct {
	applied []crdt.Op
	metrics []api.Metric
	learned []peer.AddrInfo
	pulls   []peer.ID
	forgot  map[peer.ID]uint64
	trusted map[peer.ID]bool
	removed map[peer.ID]uint64
	last    map[peer.ID]uint64
	tokens  []api.TokenRecord
}

func (f *fakes) ApplyRemote(ops []crdt.Op)          { f.applied = append(f.applied, ops...) }
func (f *fakes) Publish(m api.Metric)               { f.metrics = append(f.metrics, m) }
func (f *fakes) Learned(info peer.AddrInfo)         { f.learned = append(f.learned, info) }
func (f *fakes) PullFrom(id peer.ID)                { f.pulls = append(f.pulls, id) }
func (f *fakes) ConfigTrusted(id peer.ID) bool      { return f.trusted[id] }
func (f *fakes) Forget(id peer.ID, cutoff uint64)   { f.forgot[id] = cutoff }
func (f *fakes) LastSeq(id peer.ID) (uint64, error) { return f.last[id], nil }
func (f *fakes) IsRemoved(id peer.ID) bool          { _, ok := f.removed[id]; return ok }

func (f *fakes) Trusted(id peer.ID) bool { return f.trusted[id] && !f.IsRemoved(id) }

func (f *fakes) Cutoff(id peer.ID) (uint64, bool) {
	c, ok := f.removed[id]
	return c, ok
}

func newReader(t *testing.T) (*reader, *fakes) {
	f := &fakes{forgot: map[peer.ID]uint64{}, trusted: map[peer.ID]bool{}, removed: map[peer.ID]uint64{}, last: map[peer.ID]uint64{}}
	deps := Deps{Pinset: f, Monitor: f, Membership: f, Roster: f, Seqs: f, Puller: f, Tokens: f}
	h, err := libp2p.New(libp2p.NoListenAddrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	deps.Host = h
	log := slog.New(slog.NewTextHandler(tWriter{t}, nil))
	return &reader{deps: deps, log: log, self: h.ID(), queued: map[peer.ID]uint64{}}, f
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) { w.t.Log(string(b)); return len(b), nil }

func message(from, relay peer.ID, data []byte) *pubsub.Message {
	return &pubsub.Message{Message: &pb.Message{From: []byte(from), Data: data}, ReceivedFrom: relay}
}

func signedBatch(t *testing.T, seed byte, key byte, seqs ...uint64) (peer.ID, []byte) {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{key}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	origin, _ := peer.IDFromPrivateKey(priv)
	b := crdt.Batch{Origin: origin}
	for _, s := range seqs {
		h, err := multihash.Sum([]byte{byte(s)}, multihash.SHA2_256, -1)
		if err != nil {
			t.Fatal(err)
		}
		b.Ops = append(b.Ops, crdt.Op{Origin: origin, Seq: s, Clock: crdt.HLC(s), Kind: crdt.OpUnpin, Cid: api.NewCid(gocid.NewCidV1(gocid.Raw, h))})
	}
	if b.Signature, err = signer.Sign(b.SigningBytes()); err != nil {
		t.Fatal(err)
	}
	return origin, crdt.MarshalBatch(b)
}

// TestBatchReader: only batches of trusted origins signed by the origin reach the pinset, a
// removed origin's ops past its cutoff are dropped, and a gap asks the relay for a pull unless
// the ops before it are already on their way to the pinset.
func TestBatchReader(t *testing.T) {
	r, f := newReader(t)
	relay := wirePeer(t, 3)
	origin, good := signedBatch(t, 1, 1, 1, 2)
	_, untrusted := signedBatch(t, 2, 2, 1)
	_, forged := signedBatch(t, 1, 2, 3)
	f.trusted[origin] = true

	r.onBatch(message(relay, relay, untrusted))
	r.onBatch(message(relay, relay, forged))
	if len(f.applied) != 0 {
		t.Fatalf("an untrusted or forged batch was applied: %v", f.applied)
	}
	r.onBatch(message(relay, relay, good))
	if len(f.applied) != 2 || len(f.pulls) != 0 {
		t.Fatalf("good batch: applied %d ops, pulls %v", len(f.applied), f.pulls)
	}
	_, next := signedBatch(t, 1, 1, 3, 4) // follows the queued ops: no gap
	r.onBatch(message(relay, relay, next))
	_, gap := signedBatch(t, 1, 1, 7)
	r.onBatch(message(relay, relay, gap))
	if len(f.pulls) != 1 || f.pulls[0] != relay {
		t.Fatalf("pulls %v, want one from the relay after the gap", f.pulls)
	}
	f.applied = nil
	f.removed[origin] = 8
	_, late := signedBatch(t, 1, 1, 8, 9)
	r.onBatch(message(relay, relay, late))
	if len(f.applied) != 1 || f.applied[0].Seq != 8 {
		t.Fatalf("removed origin: applied %v, want seq 8 only", f.applied)
	}
}

// authoredBatch is origin's batch of seqs in the form this peer sends: compressed, unsigned,
// authenticated by the pubsub message's author.
func authoredBatch(t *testing.T, seed byte, seqs ...uint64) (peer.ID, []byte) {
	t.Helper()
	origin, signed := signedBatch(t, seed, seed, seqs...)
	b, err := crdt.UnmarshalBatch(signed)
	if err != nil {
		t.Fatal(err)
	}
	b.Signature = nil
	return origin, encodePinsetMessage(crdt.MarshalBatch(b))
}

// TestAuthoredBatchReader: an unsigned batch is taken from its origin's own message only,
// whoever relayed it; from another author it is a forgery, trusted author or not.
func TestAuthoredBatchReader(t *testing.T) {
	r, f := newReader(t)
	relay := wirePeer(t, 3)
	origin, good := authoredBatch(t, 1, 1, 2)
	other, _ := authoredBatch(t, 2, 1)
	f.trusted[origin], f.trusted[other] = true, true

	signed := func(m *pubsub.Message) *pubsub.Message { m.Signature = []byte("checked by pubsub"); return m }
	r.onBatch(signed(message(other, relay, good)))
	r.onBatch(signed(message(relay, relay, good)))
	r.onBatch(message(origin, relay, good)) // unsigned: pubsub would not deliver it under StrictSign
	if len(f.applied) != 0 {
		t.Fatalf("a batch under another author's message, or unsigned, was applied: %v", f.applied)
	}
	r.onBatch(signed(message(origin, relay, good)))
	if len(f.applied) != 2 {
		t.Fatalf("the origin's own message: applied %d ops, want 2", len(f.applied))
	}
	// The compressed signed form (peers of 2026-12-02) still needs the batch signature.
	_, forged := signedBatch(t, 1, 2, 3)
	b, _ := crdt.UnmarshalBatch(forged)
	old := append([]byte{compressedMark, codecS2}, s2.Encode(nil, crdt.MarshalBatch(b))...)
	r.onBatch(signed(message(origin, relay, old)))
	if len(f.applied) != 2 {
		t.Fatalf("a compressed batch with a bad signature was applied: %v", f.applied)
	}
}

// TestMetricsAndRemovalReaders: a peer speaks only for itself, removed peers are not heard, a
// ping's addresses reach the membership actor, and removals are applied from trusted peers
// only (the removals topic, and 0.1.0's pseudo-metric).
func TestMetricsAndRemovalReaders(t *testing.T) {
	r, f := newReader(t)
	a, b, c := wirePeer(t, 1), wirePeer(t, 2), wirePeer(t, 3)
	f.trusted[a] = true
	f.removed[c] = 0
	data, err := encodeMetrics([]api.Metric{
		{Name: "ping", Peer: a, Value: "/ip4/127.0.0.1/tcp/9096"},
		{Name: "freespace", Peer: b, Value: "1"}, // not a's to publish
		{Name: removedMetric, Peer: a, Value: b.String() + "@5"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.onMetrics(message(a, a, data))
	if len(f.learned) != 1 || f.learned[0].ID != a {
		t.Fatalf("learned %v", f.learned)
	}
	removedData, _ := encodeMetrics([]api.Metric{{Name: "freespace", Peer: c, Value: "1"}})
	r.onMetrics(message(c, c, removedData))
	for _, m := range f.metrics {
		if m.Peer != a {
			t.Fatalf("metric of %s reached the monitor", m.Peer)
		}
	}

	if f.forgot[b] != 5 {
		t.Fatalf("0.1.0's removal metric from a trusted peer: forgot %v, want b at 5", f.forgot)
	}
	delete(f.forgot, b)

	rm, _ := encodeRemoval(b, 7)
	d := wirePeer(t, 4)
	r.onRemoval(message(d, d, rm)) // d is not trusted, and b is not d
	if _, ok := f.forgot[b]; ok {
		t.Fatal("a removal of another peer from an untrusted peer was applied")
	}
	r.onRemoval(message(a, a, rm))
	if f.forgot[b] != 7 {
		t.Fatalf("forgot %v, want b at 7", f.forgot)
	}
	// A peer may always remove itself (leave_on_shutdown), trusted or not (a follower).
	rmSelf, _ := encodeRemoval(d, 3)
	r.onRemoval(message(d, d, rmSelf))
	if f.forgot[d] != 3 {
		t.Fatalf("a peer's removal of itself: forgot %v, want d at 3", f.forgot)
	}
}
