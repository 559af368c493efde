package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// cidGen makes distinct CIDv1 raw sha256 CIDs: the digest of a per-run salt and an index, so
// no two runs (or indexes) collide and no CID is held by the node.
type cidGen struct {
	salt [16]byte
	// identity: each CID is the identity multihash of the 24 bytes (salt, index) the sha256
	// CIDs hash: the block is in the CID, so a node holds it at once (-suite global's pins all
	// end pinned).
	identity bool
}

func newCIDGen() cidGen {
	var g cidGen
	_, _ = rand.Read(g.salt[:])
	return g
}

func (g cidGen) at(i int) string {
	var buf [24]byte
	copy(buf[:], g.salt[:])
	binary.BigEndian.PutUint64(buf[16:], uint64(i))
	if g.identity {
		m, err := mh.Sum(buf[:], mh.IDENTITY, -1)
		if err != nil {
			panic(err) // identity takes any bytes
		}
		return cid.NewCidV1(cid.Raw, m).String()
	}
	sum := sha256.Sum256(buf[:])
	m, err := mh.Encode(sum[:], mh.SHA2_256)
	if err != nil {
		panic(err) // a 32-byte sha256 digest always encodes
	}
	return cid.NewCidV1(cid.Raw, m).String()
}

// newHTTPClient is shared by every posting goroutine: keep-alive, enough idle connections
// that no client dials per request.
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 64
	tr.DisableCompression = true
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// ingestResult is one timed ingest phase.
type ingestResult struct {
	pins     int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (r ingestResult) rate() float64 { return float64(r.pins) / r.elapsed.Seconds() }

// ingest posts pins [from, to) with the given number of concurrent clients and times it. The
// first failed request stops the phase and is returned with the server's answer.
func ingest(ctx context.Context, hc *http.Client, base string, gen cidGen, from, to, clients int, progress io.Writer) (ingestResult, error) {
	return ingestWith(ctx, hc, base, gen, from, to, clients, progress, ingestHooks{})
}

// ingestHooks adjust an ingest phase.
type ingestHooks struct {
	query string                                // extra query parameters ("replication=2")
	acked func(i int, cid string, at time.Time) // called after each acknowledged pin (from the client goroutine)
}

// ingestWith is ingest with hooks.
func ingestWith(ctx context.Context, hc *http.Client, base string, gen cidGen, from, to, clients int, progress io.Writer, h ingestHooks) (ingestResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	next.Store(int64(from))
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	stopProgress := reportProgress(progress, "ingest", from, to, func() int { return int(next.Load()) })
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, (to-from)/clients+1)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= to {
					break
				}
				t0 := time.Now()
				c := gen.at(i)
				if err := postPin(ctx, hc, base, c, i, h.query); err != nil {
					cancel(err)
					break
				}
				t1 := time.Now()
				mine = append(mine, t1.Sub(t0))
				if h.acked != nil {
					h.acked(i, c, t1)
				}
			}
			lat[c] = mine
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	if err := context.Cause(ctx); err != nil {
		return ingestResult{}, err
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	return ingestResult{pins: len(all), elapsed: elapsed, p50: quantile(all, 0.50), p99: quantile(all, 0.99)}, nil
}

func postPin(ctx context.Context, hc *http.Client, base, c string, i int, query string) error {
	url := fmt.Sprintf("%s/pins/%s?name=bench-%d", base, c, i)
	if query != "" {
		url += "&" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("POST /pins/%s: %w", c, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /pins/%s (pin #%d): %s: %s", c, i, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// listResult is one GET /allocations run.
type listResult struct {
	pins    int
	bytes   int64
	elapsed time.Duration
}

func (r listResult) rate() float64 { return float64(r.pins) / r.elapsed.Seconds() }

// listAll streams GET /allocations, counting lines and bytes; a stream error in the
// X-Stream-Error trailer fails the run.
func listAll(ctx context.Context, hc *http.Client, base string) (listResult, error) {
	return streamCount(ctx, hc, base, "/allocations")
}

// streamCount streams GET path (an NDJSON list), counting lines and bytes; a stream error in
// the X-Stream-Error trailer fails the run.
func streamCount(ctx context.Context, hc *http.Client, base, path string) (listResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return listResult{}, err
	}
	// A listing may legitimately take longer than the posting client's per-request timeout.
	client := &http.Client{Transport: hc.Transport}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return listResult{}, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return listResult{}, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
	}
	var r listResult
	br := bufio.NewReaderSize(resp.Body, 1<<20)
	buf := make([]byte, 1<<20)
	for {
		n, err := br.Read(buf)
		r.bytes += int64(n)
		r.pins += bytes.Count(buf[:n], []byte{'\n'})
		if err == io.EOF {
			break
		}
		if err != nil {
			return listResult{}, fmt.Errorf("GET %s after %d pins: %w", path, r.pins, err)
		}
	}
	r.elapsed = time.Since(start)
	if e := resp.Trailer.Get("X-Stream-Error"); e != "" {
		return listResult{}, fmt.Errorf("GET %s stream error after %d pins: %s", path, r.pins, e)
	}
	return r, nil
}

// reportProgress prints "label: done/total (rate/s)" every 5 s until the returned func is
// called. A nil writer prints nothing.
func reportProgress(w io.Writer, label string, from, to int, done func() int) (stop func()) {
	if w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				d := min(done(), to)
				fmt.Fprintf(w, "  %s: %d/%d pins, %s pins/s\n", label, d, to, human(float64(d-from)/time.Since(start).Seconds()))
			}
		}
	}()
	return func() { close(quit); wg.Wait() }
}
