package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	svcs "github.com/pincluster/pincluster/cluster"
	"github.com/pincluster/pincluster/persistence"
	"github.com/pincluster/pincluster/statusdigest"
)

var (
	gsPins  = flag.Int("gs-pins", 100_000, "BenchmarkGlobalStatus: pins in the pinset")
	gsPeers = flag.Int("gs-peers", 100, "BenchmarkGlobalStatus: cluster members")
	gsRepl  = flag.Int("gs-replication", 3, "BenchmarkGlobalStatus: members each pin is allocated to (at most -gs-peers)")
	gsHTTP  = flag.Bool("gs-http", false, "BenchmarkGlobalStatus: over a loopback socket and an HTTP client, not the handler alone")
	gsCurl  = flag.Bool("gs-curl", false, "BenchmarkGlobalStatus: as -gs-http, read by curl -o /dev/null (another process: this process's CPU is the server's; the lines are not counted)")
)

// BenchmarkGlobalStatus measures a global status (GET /pins, answered from the replica of the
// other members' status digests) on one peer's real Badger store, through the real REST
// handler in process, beside status --local of the same pinset in the same run. Each pin is
// allocated to 3 of the members, and every other member's replica holds its pins as pinned,
// as after the digests of a settled cluster arrived. The answer has one object per pin with
// a part per member (remote where not allocated), so its size is pins x members.
//
// Run: go test ./bench -run '^$' -bench GlobalStatus -benchtime 1x [-gs-pins 1000000 -gs-peers 100
// -gs-replication 3] [-gs-http | -gs-curl]
// It prints the figures; nothing asserts on speed. The first pass after the fill runs beside
// the store's compactions: read the later ones.
func BenchmarkGlobalStatus(b *testing.B) {
	n, np, gsReplication := *gsPins, *gsPeers, *gsRepl
	if gsReplication < 1 || np < gsReplication {
		b.Fatalf("-gs-replication %d: between 1 and -gs-peers (%d)", gsReplication, np)
	}
	ctx := context.Background()
	members := make([]libp2ppeer.ID, np)
	for i := range members {
		members[i] = benchPeerID(b)
	}
	start := time.Now()
	store, cids := fillAllocated(b, n, members)
	defer store.Close()
	fillDigests(b, store, cids, members)
	fmt.Fprintf(os.Stdout, "\nglobal status: %d pins, %d members, each pin on %d (set up in %s)\n",
		n, np, gsReplication, time.Since(start).Round(time.Second))
	remote := &countingRemote{}
	h := readHandler(b, svcs.Deps{
		Config: svcs.Config{ReplicationFactorMin: gsReplication, ReplicationFactorMax: gsReplication, Version: "bench",
			DigestTTL: time.Hour},
		Store: store, Members: fixedMembers{members}, Remote: remote, IPFS: &pinnedIPFS{cids: cids},
		Digests: storeDigests{store},
	})
	do := serve
	if *gsHTTP || *gsCurl { // the same handler behind a loopback server
		srv, base, err := serveLoopback(h)
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		hc := *newHTTPClient()
		hc.Timeout = 0 // a pass of millions of parts outlasts the client's per-request timeout
		do = func(ctx context.Context, _ http.Handler, target string) (int, error) {
			// Lines only, as `curl -s URL | wc -l` would read it: the client shares the
			// cores with the server it times (counting the pinned parts too made it as busy).
			lc := &lineCounter{h: http.Header{}}
			err := getInto(ctx, &hc, base+target, lc)
			return lc.lines, err
		}
		if *gsCurl {
			do = func(ctx context.Context, _ http.Handler, target string) (int, error) {
				return curlGET(ctx, base+target, n)
			}
		}
	}
	for b.Loop() {
		t0, c0 := time.Now(), processCPU()
		got, err := do(ctx, h, "/pins")
		global, globalCPU := time.Since(t0), processCPU()-c0
		if err != nil || got != n {
			b.Fatalf("GET /pins: %d of %d pins, %v", got, n, err)
		}
		t0, c0 = time.Now(), processCPU()
		if got, err = do(ctx, h, "/pins?local=true"); err != nil || got != n {
			b.Fatalf("GET /pins?local=true: %d of %d pins, %v", got, n, err)
		}
		local, localCPU := time.Since(t0), processCPU()-c0
		if c := remote.calls.Load(); c != 0 {
			b.Fatalf("the status asked other members %d times: it must answer from the replicas", c)
		}
		fmt.Fprintf(os.Stdout, "  %-34s %8s  (%s pins/s, %s member parts/s)\n", "status (digest replica) GET /pins",
			global.Round(time.Millisecond), human(float64(n)/global.Seconds()), human(float64(n*np)/global.Seconds()))
		fmt.Fprintf(os.Stdout, "  %-34s %8s  (%s pins/s)\n", "status --local GET /pins?local=true",
			local.Round(time.Millisecond), human(float64(n)/local.Seconds()))
		fmt.Fprintf(os.Stdout, "  global / local: %.1fx; this process's CPU %s / %s = %.1fx\n", global.Seconds()/local.Seconds(),
			globalCPU.Round(time.Millisecond), localCPU.Round(time.Millisecond), globalCPU.Seconds()/localCPU.Seconds())
		b.ReportMetric(global.Seconds(), "global-s")
		b.ReportMetric(local.Seconds(), "local-s")
	}
}

// processCPU is the CPU time this process has used (user and system): without -gs-http the
// handler's and its garbage collection's, steadier than wall time on a shared machine. From
// getrusage, to the microsecond, where cpuTime reads /proc's 10 ms ticks.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// allocation is pin i's members: -gs-replication consecutive ones from i mod len(members).
func allocation(i int, members []libp2ppeer.ID) []libp2ppeer.ID {
	out := make([]libp2ppeer.ID, *gsRepl)
	for k := range out {
		out[k] = members[(i+k)%len(members)]
	}
	return out
}

// fillAllocated writes n pins allocated as allocation says into a fresh store.
func fillAllocated(b *testing.B, n int, members []libp2ppeer.ID) (*persistence.Store, []api.Cid) {
	store, cids, _ := fillPins(b, n, members[0], func(i int, c api.Cid) api.Pin {
		pin := api.NewPin(c, api.PinOptions{ReplicationFactorMin: *gsRepl, ReplicationFactorMax: *gsRepl})
		pin.Allocations = allocation(i, members)
		return pin
	})
	return store, cids
}

// fillDigests gives the store a current replica of every other member's digest: each holds
// the pins allocated to it as pinned, applied as numbered deltas of at most MaxEntries, then
// heartbeats.
func fillDigests(b *testing.B, store *persistence.Store, cids []api.Cid, members []libp2ppeer.ID) {
	now := time.Now()
	pending := make([][]statusdigest.Entry, len(members))
	seq := make([]uint64, len(members))
	flush := func(m int) {
		seq[m]++
		d := statusdigest.Digest{Epoch: 1, Seq: seq[m], Entries: pending[m]}
		for k := range d.Entries {
			d.Entries[k].Seq = seq[m]
		}
		if _, err := store.ApplyDigest(members[m], d, now); err != nil {
			b.Fatal(err)
		}
		pending[m] = pending[m][:0]
	}
	for i, c := range cids {
		for k := range *gsRepl {
			m := (i + k) % len(members)
			if m == 0 {
				continue // this peer's own part comes from its tracker and IPFS node
			}
			// One attempt and a timestamp of its own, as a real tracker's pinned entry has.
			ts := now.Add(time.Duration(i) * time.Millisecond)
			pending[m] = append(pending[m], statusdigest.Entry{Cid: c.Bytes(), Status: api.TrackerStatusPinned, TS: ts, Attempts: 1})
			if len(pending[m]) == statusdigest.MaxEntries {
				flush(m)
			}
		}
	}
	for m := 1; m < len(members); m++ {
		if len(pending[m]) > 0 || seq[m] == 0 {
			flush(m)
		}
	}
	// Two heartbeats from each, as a settled cluster's replicas get every 7.5 s: a replica
	// unchanged between two is folded into packs (persistence/statusdigest_packs.go).
	for range 2 {
		for m := 1; m < len(members); m++ {
			if _, err := store.ApplyDigest(members[m], statusdigest.Digest{Epoch: 1, Seq: seq[m], Heartbeat: true}, now); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// storeDigests is the services' view of the store's digest replicas (as the peer's adapter).
type storeDigests struct{ s *persistence.Store }

func (d storeDigests) DigestMeta(id libp2ppeer.ID) (statusdigest.Meta, bool, error) {
	return d.s.DigestMeta(id)
}
func (d storeDigests) OpenDigestReader() svcs.DigestReader { return d.s.OpenDigestView() }

// countingRemote counts the calls to other members (a replica status makes none).
type countingRemote struct{ calls atomic.Int64 }

func (r *countingRemote) Call(context.Context, libp2ppeer.ID, any) (any, error) {
	r.calls.Add(1)
	return nil, errNo
}

type fixedMembers struct{ ids []libp2ppeer.ID }

func (m fixedMembers) Self() libp2ppeer.ID                     { return m.ids[0] }
func (m fixedMembers) Members(context.Context) []libp2ppeer.ID { return m.ids }
func (m fixedMembers) IsRemoved(libp2ppeer.ID) bool            { return false }
func (m fixedMembers) Known(_ context.Context, id libp2ppeer.ID) (bool, error) {
	return slices.Contains(m.ids, id), nil
}
func (m fixedMembers) PeerName(libp2ppeer.ID) string { return "bench" }

// curlGET reads url with curl to /dev/null and returns want when it got a 200 with a body and
// no stream error in the trailer (curl's header dump holds the trailers too): curl counts no
// lines, so that the other modes check.
func curlGET(ctx context.Context, url string, want int) (int, error) {
	out, err := exec.CommandContext(ctx, "curl", "-sS", "-o", "/dev/null", "-D", "-", "-w", "%{http_code} %{size_download}", url).Output()
	if err != nil {
		return 0, fmt.Errorf("curl %s: %w", url, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		if name, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(name, "X-Stream-Error") {
			return 0, fmt.Errorf("curl %s: stream error: %s", url, strings.TrimSpace(v))
		}
	}
	var code, size int
	if _, err := fmt.Sscanf(lines[len(lines)-1], "%d %d", &code, &size); err != nil || code != http.StatusOK || size == 0 {
		return 0, fmt.Errorf("curl %s: %q", url, lines[len(lines)-1])
	}
	return want, nil
}
