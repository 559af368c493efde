package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	lping "github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/pincluster/pincluster/api"
)

// Liveness probes. A peer whose process is paused (SIGSTOP, a frozen VM) or whose host is cut
// off without a reset keeps its connection open: a request to it gets no answer and no error,
// and waited for RequestTimeout (10 s), so every fan-out (status --fresh, peers ls, recover)
// took that long while one member hung.
//
// So while requests to another peer wait, that peer is probed: ProbeAfter after the first of
// them began, and again every ProbeAfter while any still waits, one libp2p ping (its host
// answers on its own goroutine however busy its actors are) bounded by ProbeTimeout. The peer
// is lost, and every request waiting on it fails with api.ErrUnavailable, only when a ping
// runs out its time and nothing at all arrived from the peer meanwhile (a large answer on a
// slow link delays the ping's echo behind it; its bytes show the peer alive). A ping that
// fails otherwise (no connection: the endpoint reports that itself; a stream limit) proves
// nothing and the probe goes on. One probe per peer, whatever the number of waiting requests:
// libp2p allows a few ping streams per peer, and concurrent pings beyond them fail at once.
//
// A round is a timer that starts an I/O worker (one ping), which reports back to probeDone;
// nothing loops. Peers that do not list the ping protocol are not probed.

// Defaults for the probe settings of Config.
const (
	DefaultProbeAfter   = 2 * time.Second
	DefaultProbeTimeout = 3 * time.Second
)

// probeLost is the cause a probe cancels a waiting request's context with.
type probeLost struct{ err error }

func (p probeLost) Error() string { return p.err.Error() }
func (p probeLost) Unwrap() error { return p.err }

// prober is the probe of one peer; its fields are guarded by Remote.mu.
type prober struct {
	id      peer.ID
	name    string
	waiters map[*context.CancelCauseFunc]struct{}
	timer   *time.Timer
	running bool // a round's ping is under way
}

// probe registers a request to id that waits under the context cancel cancels, and returns
// the function that withdraws it. It arms the peer's probe if none runs.
func (r *Remote) probe(id peer.ID, name string, cancel context.CancelCauseFunc) (withdraw func()) {
	if ok, err := r.h.Peerstore().SupportsProtocols(id, lping.ID); err != nil || len(ok) == 0 {
		return func() {}
	}
	key := &cancel
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return func() {}
	}
	p := r.probes[id]
	if p == nil {
		p = &prober{id: id, name: name, waiters: map[*context.CancelCauseFunc]struct{}{}}
		// Made stopped and armed once assigned: its callback reads p.timer.
		p.timer = time.AfterFunc(math.MaxInt64, func() { r.probeRound(p) })
		p.timer.Reset(r.cfg.ProbeAfter)
		r.probes[id] = p
	}
	p.waiters[key] = struct{}{}
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(p.waiters, key)
		if len(p.waiters) == 0 && !p.running && r.probes[id] == p {
			p.timer.Stop()
			delete(r.probes, id)
		}
	}
}

// probeRound starts one round's ping on an I/O worker.
func (r *Remote) probeRound(p *prober) {
	r.mu.Lock()
	if r.closed || r.probes[p.id] != p || len(p.waiters) == 0 {
		if r.probes[p.id] == p {
			delete(r.probes, p.id)
		}
		r.mu.Unlock()
		return
	}
	p.running = true
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		start := time.Now()
		lost := r.pingTimedOut(p.id)
		r.probeDone(p, lost && !r.readSince(p.id, start))
	}()
}

// pingTimedOut pings id once over an existing connection and reports whether the ping ran out
// of ProbeTimeout unanswered (any other failure is not evidence of a hung peer).
func (r *Remote) pingTimedOut(id peer.ID) bool {
	ctx, cancel := context.WithTimeout(network.WithNoDial(r.ctx, "liveness probe"), r.cfg.ProbeTimeout)
	defer cancel()
	var res lping.Result
	var ok bool
	select {
	case res, ok = <-lping.Ping(ctx, r.h, id):
	case <-ctx.Done():
	}
	if ok && res.Error == nil {
		return false
	}
	// Ping's channel closes without a result when its context ends.
	return errors.Is(ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil
}

// probeDone takes a round's verdict: the peer's waiting requests fail when it is lost, the next
// round is armed while any wait, and the probe ends when none does.
func (r *Remote) probeDone(p *prober, lost bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p.running = false
	switch {
	case r.closed || len(p.waiters) == 0:
		delete(r.probes, p.id)
	case lost:
		err := probeLost{fmt.Errorf("%w: peer %s does not answer: no libp2p ping answer within %s and nothing received from it; paused, overloaded or cut off", api.ErrUnavailable, p.name, r.cfg.ProbeTimeout)}
		for cancel := range p.waiters {
			(*cancel)(err)
		}
		clear(p.waiters)
		delete(r.probes, p.id)
	default:
		p.timer.Reset(r.cfg.ProbeAfter)
	}
}

// readStamp is when bytes last arrived from a peer on any of its inbound streams (UnixNano),
// kept while it has one; streams counts them (guarded by Remote.mu).
type readStamp struct {
	at      atomic.Int64
	streams int
}

// stampReads registers an inbound stream of id and returns its reader that stamps every read,
// and the function to call when the stream ends.
func (r *Remote) stampReads(id peer.ID, s io.Reader) (io.Reader, func()) {
	r.mu.Lock()
	st := r.reads[id]
	if st == nil {
		st = &readStamp{}
		r.reads[id] = st
	}
	st.streams++
	r.mu.Unlock()
	return stampingReader{s, &st.at}, func() {
		r.mu.Lock()
		if st.streams--; st.streams == 0 {
			delete(r.reads, id)
		}
		r.mu.Unlock()
	}
}

// readSince reports whether bytes arrived from id at or after t.
func (r *Remote) readSince(id peer.ID, t time.Time) bool {
	r.mu.Lock()
	st := r.reads[id]
	r.mu.Unlock()
	return st != nil && st.at.Load() >= t.UnixNano()
}

type stampingReader struct {
	r  io.Reader
	at *atomic.Int64
}

func (s stampingReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if n > 0 {
		s.at.Store(time.Now().UnixNano())
	}
	return n, err
}
