package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/ipfs/boxo/files"
	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/crypto"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest"
	svcs "github.com/pincluster/pincluster/cluster"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/ipfs"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// readsN is the pinset size of BenchmarkReads (issue 9's targets are at 1M pins).
var readsN = flag.Int("reads-n", 1_000_000, "BenchmarkReads: pins in the pinset")

// BenchmarkReads measures the two fast read paths on one peer's real Badger store, through the
// real REST handler (in process, no socket), beside raw Badger iteration of as many
// record-sized values in the same run:
//
//   - listing: GET /allocations (pin ls), the stored pin JSON streamed as it is;
//   - status --local: GET /pins?local=true, the pinset merged with the tracker's in-flight set
//     and one pin ls of the IPFS node (a stub holding every pin: the node's own pin ls time
//     is not counted).
//
// Run: go test ./bench -run '^$' -bench Reads -benchtime 1x [-reads-n 1000000]
// It prints the figures and the targets; nothing asserts on speed.
func BenchmarkReads(b *testing.B) {
	n := *readsN
	ctx := context.Background()
	self := benchPeerID(b)
	store, cids, valueSize := fillStore(b, n, self)
	defer store.Close()
	h := readHandler(b, svcs.Deps{
		Config: svcs.Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Version: "bench"},
		Store:  store, Members: soloMembers{self}, Remote: noRemote{}, IPFS: &pinnedIPFS{cids: cids},
	})
	_, rawIter, err := persistence.RawBadgerRates(b.TempDir(), n, valueSize)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		list := best(b, 3, func() (int, error) { return serve(ctx, h, "/allocations") })
		status := best(b, 3, func() (int, error) { return serve(ctx, h, "/pins?local=true") })
		fmt.Fprintf(os.Stdout, "\nreads at %d pins (best of 3, REST handler in process)\n", n)
		fmt.Fprintf(os.Stdout, "  %-28s %12s pins/s\n", "raw badger iterate", human(rawIter))
		fmt.Fprintf(os.Stdout, "  %-28s %12s pins/s  %6s of raw   (target >= 50%%)\n", "list GET /allocations", human(list), pct(list/rawIter))
		fmt.Fprintf(os.Stdout, "  %-28s %12s pins/s  %6s of raw   (target >= 200k pins/s)\n", "status --local GET /pins", human(status), pct(status/rawIter))
		b.ReportMetric(rawIter, "raw-iterate/s")
		b.ReportMetric(list, "list/s")
		b.ReportMetric(status, "status-local/s")
	}
}

// readHandler is the REST handler over the services of d, whose unset parts the read paths
// do not use (stubs below; the tracker holds nothing in flight).
func readHandler(b *testing.B, d svcs.Deps) http.Handler {
	d.Pinset, d.Allocator, d.Tracker, d.Metrics, d.Node = noCommit{}, noAlloc{}, idleTracker{}, noMetrics{}, noNode{}
	d.Log = slog.New(slog.DiscardHandler)
	svc, err := svcs.New(d)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := rest.NewServer(rest.DefaultConfig(), rest.Services{Pins: svc.PinService, Status: svc.StatusService,
		Peers: svc.PeerService, Health: svc.HealthService, Add: svc.AddService}, d.Log)
	if err != nil {
		b.Fatal(err)
	}
	return srv.Handler()
}

// best runs f k times and returns the best rate in items per second.
func best(b *testing.B, k int, f func() (int, error)) float64 {
	var top float64
	for range k {
		start := time.Now()
		got, err := f()
		if err != nil {
			b.Fatal(err)
		}
		top = max(top, float64(got)/time.Since(start).Seconds())
	}
	return top
}

// serve runs one GET through h and counts the lines of the body.
func serve(ctx context.Context, h http.Handler, target string) (int, error) {
	w := &lineCounter{h: http.Header{}}
	h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodGet, target, nil))
	if w.code != 0 && w.code != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %d", target, w.code)
	}
	if e := w.h.Get("X-Stream-Error"); e != "" {
		return 0, errors.New(e)
	}
	return w.lines, nil
}

// lineCounter is a ResponseWriter that counts lines and keeps nothing.
type lineCounter struct {
	h     http.Header
	code  int
	lines int
}

func (w *lineCounter) Header() http.Header { return w.h }
func (w *lineCounter) WriteHeader(c int)   { w.code = c }
func (w *lineCounter) Write(b []byte) (int, error) {
	w.lines += bytes.Count(b, []byte{'\n'})
	return len(b), nil
}
func (w *lineCounter) Flush() {}

// fillStore writes n pins (allocated everywhere, named, as POST /pins stores them) into a
// fresh store. It returns the CIDs and the average record value size (the raw baseline writes
// values of that size).
func fillStore(b *testing.B, n int, self libp2ppeer.ID) (*persistence.Store, []api.Cid, int) {
	return fillPins(b, n, self, func(i int, c api.Cid) api.Pin {
		return api.NewPin(c, api.PinOptions{Name: fmt.Sprintf("pin-%d", i), ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	})
}

// fillPins writes the n pins mk makes (benchCid i) into a fresh store in batches, as the
// pinset actor's group commits do, and returns the CIDs and the average record value size.
func fillPins(b *testing.B, n int, origin libp2ppeer.ID, mk func(i int, c api.Cid) api.Pin) (*persistence.Store, []api.Cid, int) {
	store, err := persistence.Open(persistence.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	cids := make([]api.Cid, n)
	const batch = 4096
	ops := make([]crdt.Op, 0, batch)
	size := 0
	now := time.Now().UTC()
	for i := range n {
		cids[i] = benchCid(b, i)
		pin := mk(i, cids[i])
		pin.Timestamp = now
		js, err := json.Marshal(pin)
		if err != nil {
			b.Fatal(err)
		}
		size += len(js) + 24 // the record header (kind, clock, origin, seq)
		ops = append(ops, crdt.Op{Origin: origin, Seq: uint64(i + 1), Clock: crdt.HLC(i + 1), Kind: crdt.OpPin, Cid: cids[i], PinJSON: js})
		if len(ops) == batch || i == n-1 {
			if _, err := store.Apply(ops); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	return store, cids, size / max(n, 1)
}

func benchCid(b *testing.B, i int) api.Cid {
	d := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("reads"), uint64(i)))
	h, err := mh.Encode(d[:], mh.SHA2_256)
	if err != nil {
		b.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

func benchPeerID(b *testing.B) libp2ppeer.ID {
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		b.Fatal(err)
	}
	id, err := libp2ppeer.IDFromPublicKey(pub)
	if err != nil {
		b.Fatal(err)
	}
	return id
}

// The stubs below stand for the parts the read paths do not use (or, for the IPFS node and
// the tracker, hold every pin pinned and nothing in flight).

type pinnedIPFS struct{ cids []api.Cid }

func (p *pinnedIPFS) PinLs(ctx context.Context, fn func(api.Cid, api.PinMode) error) error {
	for _, c := range p.cids {
		if err := fn(c, api.PinModeRecursive); err != nil {
			return err
		}
	}
	return nil
}
func (p *pinnedIPFS) ID(context.Context) (api.IPFSID, error) {
	return api.IPFSID{ID: "ipfs-bench"}, nil
}
func (p *pinnedIPFS) Resolve(context.Context, string) (api.Cid, error) { return api.CidUndef, errNo }
func (p *pinnedIPFS) ImportCAR(context.Context, io.Reader) (api.Cid, error) {
	return api.CidUndef, errNo
}
func (p *pinnedIPFS) GC(context.Context) ([]api.Cid, error) { return nil, errNo }
func (p *pinnedIPFS) Add(context.Context, files.Directory, api.AddParams, ipfs.AddOutput) (api.Cid, error) {
	return api.CidUndef, errNo
}

var errNo = errors.New("not used by the read benchmark")

type idleTracker struct{}

func (idleTracker) Status(context.Context, api.Pin) (api.PinInfo, error) { return api.PinInfo{}, errNo }
func (idleTracker) StatusUnknown(context.Context, api.Cid) (api.PinInfo, error) {
	return api.PinInfo{}, errNo
}
func (idleTracker) QueueLen() int { return 0 }
func (idleTracker) InFlight(context.Context, func(api.Cid, api.PinInfoShort) error) error {
	return nil
}
func (idleTracker) Recover(context.Context, api.Pin) (api.PinInfo, error) {
	return api.PinInfo{}, errNo
}
func (idleTracker) RecoverUnpin(context.Context, api.Cid) (api.PinInfo, error) {
	return api.PinInfo{}, errNo
}
func (idleTracker) Untrack(context.Context, api.Cid) error { return errNo }

type soloMembers struct{ self libp2ppeer.ID }

func (m soloMembers) Self() libp2ppeer.ID                     { return m.self }
func (m soloMembers) Members(context.Context) []libp2ppeer.ID { return []libp2ppeer.ID{m.self} }
func (m soloMembers) IsRemoved(libp2ppeer.ID) bool            { return false }
func (m soloMembers) Known(_ context.Context, id libp2ppeer.ID) (bool, error) {
	return id == m.Self(), nil
}
func (m soloMembers) PeerName(libp2ppeer.ID) string { return "bench" }

type noCommit struct{}

func (noCommit) Commit(context.Context, ...messages.Change) ([]crdt.Op, error) { return nil, errNo }

type noAlloc struct{}

func (noAlloc) Allocate(context.Context, api.Cid, api.PinOptions, []libp2ppeer.ID) ([]libp2ppeer.ID, error) {
	return nil, errNo
}

type noRemote struct{}

func (noRemote) Call(context.Context, libp2ppeer.ID, any) (any, error) { return nil, errNo }

type noMetrics struct{}

func (noMetrics) Latest(context.Context, string) ([]api.Metric, error) { return nil, errNo }
func (noMetrics) Names(context.Context) ([]string, error)              { return nil, errNo }
func (noMetrics) Alerts(context.Context) ([]api.Alert, error)          { return nil, errNo }

type noNode struct{}

func (noNode) Addrs() []string                                        { return nil }
func (noNode) PeerAddrs(libp2ppeer.ID) []string                       { return nil }
func (noNode) Connected() []libp2ppeer.ID                             { return nil }
func (noNode) AnnounceRemoval(context.Context, libp2ppeer.ID, uint64) {}
func (noNode) SealWrites(context.Context, string) (uint64, error)     { return 0, nil }
func (noNode) PullFrom(context.Context, libp2ppeer.ID) error          { return nil }
func (noNode) Leave(string, bool)                                     {}
