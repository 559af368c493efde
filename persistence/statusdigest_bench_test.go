package persistence

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
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

// BenchmarkDigestPullPage: a fresh replica's pull, page by page, into a store that already
// holds another member's replica of the same pins (the LSM has levels to search), through one
// iterator per page (putReplicaEntries) and, for comparison, one lookup per entry.
func BenchmarkDigestPullPage(b *testing.B) {
	const pins = 200_000
	cids := make([][]byte, pins)
	for i := range cids {
		cids[i] = mkCid(b, i).Bytes()
	}
	cids = sortedCids(cids)
	page := func(start int, seq uint64) []statusdigest.Entry {
		var es []statusdigest.Entry
		for _, c := range cids[start:min(pins, start+statusdigest.MaxEntries)] {
			es = append(es, statusdigest.Entry{Cid: c, Status: api.TrackerStatusPinQueued, TS: time.Now(), Seq: seq})
		}
		return es
	}
	for _, mode := range []string{"iterator", "lookups"} {
		b.Run(mode, func(b *testing.B) {
			s, _ := openTemp(b)
			other := newPeer(b, 1)
			for start := 0; start < pins; start += statusdigest.MaxEntries {
				if err := s.update(func(txn *badger.Txn) error { return putReplicaEntries(txn, other, 0, 1, page(start, 1), true) }); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				p := newPeer(b, byte(10+i%200))
				for start := 0; start < pins; start += statusdigest.MaxEntries {
					es := page(start, 1)
					err := s.update(func(txn *badger.Txn) error {
						if mode == "iterator" {
							return putReplicaEntries(txn, p, 0, 1, es, true)
						}
						for _, e := range es {
							if err := putReplicaEntry(txn, p, 0, 1, e, true); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pins), "ns/entry")
		})
	}
}

// BenchmarkDigestApply: a replica's deltas as a 20-peer cluster's batch of 20k pins brings
// them, 19 members x 20k entries in deltas of 1000, then two heartbeats each: per entry, with
// the folds they cause (statusdigest_packs.go). 2026-12-05: 7.3-8.0 us per entry, against
// 5.2 us with folding turned off by hand.
func BenchmarkDigestApply(b *testing.B) {
	for range b.N {
		s, _ := openTemp(b)
		now := time.Now()
		cids := make([][]byte, 20000)
		for i := range cids {
			cids[i] = mkCid(b, i).Bytes()
		}
		b.ResetTimer()
		for p := range 19 {
			id := newPeer(b, byte(p+1))
			seq := uint64(0)
			for start := 0; start < len(cids); start += 1000 {
				seq++
				d := statusdigest.Digest{Epoch: 1, Seq: seq}
				for _, c := range cids[start : start+1000] {
					d.Entries = append(d.Entries, statusdigest.Entry{Cid: c, Status: api.TrackerStatusPinned, TS: now, Seq: seq})
				}
				if _, err := s.ApplyDigest(id, d, now); err != nil {
					b.Fatal(err)
				}
			}
			for range 2 {
				if _, err := s.ApplyDigest(id, statusdigest.Digest{Epoch: 1, Seq: seq, Heartbeat: true}, now); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*19*20000), "ns/entry")
}

// BenchmarkDigestApplyRuns: the deltas of a 20-peer batch of 20k pins as peers send them, each
// CID's pinning and then its pinned in a later delta (deltas of 1000 entries: 500 CIDs start
// pinning, the 500 before them are pinned), applied one by one (deltas) against coalesced in
// runs of 8 as the applier's queue holds them when it falls behind (runs); per CID per member.
func BenchmarkDigestApplyRuns(b *testing.B) {
	const pins, members, half = 20000, 19, 500
	cids := make([][]byte, pins)
	for i := range cids {
		cids[i] = mkCid(b, i).Bytes()
	}
	now := time.Now()
	deltas := func() []statusdigest.Digest {
		var ds []statusdigest.Digest
		for start := 0; start <= pins; start += half {
			seq := uint64(len(ds) + 1)
			d := statusdigest.Digest{Epoch: 1, Seq: seq}
			for _, c := range cids[start:min(start+half, pins)] {
				d.Entries = append(d.Entries, statusdigest.Entry{Cid: c, Status: api.TrackerStatusPinning, TS: now, Seq: seq})
			}
			if start > 0 {
				for _, c := range cids[start-half : start] {
					d.Entries = append(d.Entries, statusdigest.Entry{Cid: c, Status: api.TrackerStatusPinned, TS: now, Attempts: 1, Seq: seq})
				}
			}
			ds = append(ds, d)
		}
		return ds
	}()
	for _, run := range []int{1, 8} {
		name := "deltas"
		if run > 1 {
			name = "runs"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				s, _ := openTemp(b)
				b.StartTimer()
				for p := range members {
					id := newPeer(b, byte(p+1))
					for i := 0; i < len(deltas); i += run {
						var err error
						if run == 1 {
							_, err = s.ApplyDigest(id, deltas[i], now)
						} else {
							r := statusdigest.NewRun(deltas[i])
							for _, d := range deltas[i+1 : min(i+run, len(deltas))] {
								r.Add(d)
							}
							_, err = s.ApplyDeltas(id, r, now)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*members*pins), "ns/pin")
		})
	}
}
