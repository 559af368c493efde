package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	gocid "github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/client"
)

// load sends pins and unpins to random running peers at a bounded rate with a bounded number
// of workers, and logs every op with its outcome. Each CID is pinned once, by one request, and
// unpinned only after that pin was acknowledged (an unpin that was refused may be retried), so
// the expected final state of every CID is unambiguous (see Expected).
type load struct {
	c       *cluster
	log     *opLog
	workers int
	rate    float64 // ops per second, all workers together
	unpinP  float64 // chance that an op is an unpin (when there is an acknowledged pin left)
	prefix  string  // makes this run's CIDs unique

	mu        sync.Mutex
	rng       *rand.Rand
	next      int
	unpinable []string // acknowledged pins not unpinned yet
}

func newLoad(c *cluster, log *opLog, seed uint64, workers int, rate float64) *load {
	return &load{c: c, log: log, workers: workers, rate: rate, unpinP: 0.35,
		prefix: fmt.Sprintf("pincluster-chaos-%d-%d-", seed, time.Now().UnixNano()),
		rng:    rand.New(rand.NewPCG(seed, 0x6c6f6164))}
}

// run sends ops until ctx ends; it returns when every worker has finished its last op.
func (l *load) run(ctx context.Context) {
	ticks := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < l.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range ticks {
				l.one(ctx)
			}
		}()
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / l.rate))
	defer t.Stop()
	defer wg.Wait()
	defer close(ticks)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			select {
			case ticks <- struct{}{}: // a free worker takes it; when all are busy the tick is dropped
			default:
			}
		}
	}
}

// one picks an op and a running peer, sends it and logs the outcome.
func (l *load) one(ctx context.Context) {
	kind, cid, n := l.pick()
	if n == nil {
		return
	}
	c, err := api.DecodeCid(cid)
	if err != nil {
		panic(err) // we made it
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	if kind == OpPin {
		_, err = n.api.Pin(rctx, c, api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Name: "chaos"})
	} else {
		_, err = n.api.Unpin(rctx, c)
	}
	rec := OpRecord{Time: start, Kind: kind, Cid: cid, Peer: n.i, Millis: time.Since(start).Milliseconds()}
	rec.Outcome, rec.Code = classify(err)
	if err != nil {
		rec.Err = err.Error()
	}
	l.log.add(rec)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case kind == OpPin && rec.Outcome == Acked:
		l.unpinable = append(l.unpinable, cid)
	case kind == OpUnpin && rec.Outcome == Refused:
		l.unpinable = append(l.unpinable, cid) // nothing happened: it may be tried again
	}
}

// pick draws the op, its CID and its peer.
func (l *load) pick() (Kind, string, *node) {
	up := l.c.upNodes()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(up) == 0 {
		return "", "", nil
	}
	n := up[l.rng.IntN(len(up))]
	if len(l.unpinable) > 0 && l.rng.Float64() < l.unpinP {
		k := l.rng.IntN(len(l.unpinable))
		cid := l.unpinable[k]
		l.unpinable[k] = l.unpinable[len(l.unpinable)-1]
		l.unpinable = l.unpinable[:len(l.unpinable)-1]
		return OpUnpin, cid, n
	}
	l.next++
	return OpPin, identityCid(fmt.Sprintf("%s%d", l.prefix, l.next)), n
}

// identityCid makes a CID whose block is its own content (identity multihash, raw codec):
// every peer's IPFS node has it without fetching anything, so pins complete and a pin that
// stays "pinning" means the pinning stage is stuck, not that content is missing.
func identityCid(data string) string {
	h, err := mh.Sum([]byte(data), mh.IDENTITY, -1)
	if err != nil {
		panic(err)
	}
	return gocid.NewCidV1(gocid.Raw, h).String()
}

// classify maps a client error to an outcome: 200 is acknowledged; a refused connection, 400
// and 404 mean nothing was written; anything else (timeouts, resets, 5xx) may or may not have
// been applied.
func classify(err error) (Outcome, int) {
	if err == nil {
		return Acked, 0
	}
	var ae api.Error
	if errors.As(err, &ae) {
		if ae.Code == http.StatusBadRequest || ae.Code == http.StatusNotFound {
			return Refused, ae.Code
		}
		return Maybe, ae.Code
	}
	var ce *client.ConnError
	if errors.As(err, &ce) && strings.Contains(ce.Msg, "connection refused") {
		return Refused, 0
	}
	return Maybe, 0
}
