package persistence

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/statusdigest"
)

// BenchmarkDigestView: one global status pass's reads of the replicas, 10 peers x 2000 pins
// (per op: every pin of every peer, in key order).
func BenchmarkDigestView(b *testing.B) {
	s, _ := openTemp(b)
	const pins, peers = 2000, 10
	cids := make([][]byte, pins)
	for i := range cids {
		cids[i] = mkCid(b, i).Bytes()
	}
	ps := make([]string, peers)
	for p := range peers {
		id := newPeer(b, byte(p+1))
		ps[p] = string(id)
		for start := 0; start < pins; start += statusdigest.MaxEntries {
			d := statusdigest.Digest{Epoch: 1, Seq: uint64(start/statusdigest.MaxEntries + 1)}
			for _, c := range cids[start:min(pins, start+statusdigest.MaxEntries)] {
				d.Entries = append(d.Entries, statusdigest.Entry{Cid: c, Status: api.TrackerStatusPinQueued, TS: time.Now(), Seq: d.Seq})
			}
			if _, err := s.ApplyDigest(id, d, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	}
	sorted := sortedCids(cids)
	b.ResetTimer()
	for range b.N {
		v := s.OpenDigestView()
		for _, c := range sorted {
			for _, p := range ps {
				if _, ok, err := v.Lookup(peerID(p), c); err != nil || !ok {
					b.Fatal("missing", err)
				}
			}
		}
		v.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pins*peers), "ns/lookup")
}

func sortedCids(cs [][]byte) [][]byte {
	out := append([][]byte{}, cs...)
	slices.SortFunc(out, bytes.Compare)
	return out
}

func peerID(s string) peer.ID { return peer.ID(s) }
