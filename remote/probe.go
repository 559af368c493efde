package remote

import (
	"context"
	"errors"
	"fmt"
	"math"
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
// answers on its own goroutine however busy its actors are) bounded by ProbeTimeout. A round
// whose ping runs out its time with nothing arriving from the peer meanwhile, on any protocol
// (Config.Traffic: on a slow link a ping's echo waits behind whatever the peer is sending),
// finds it silent. A silent peer is lost, unless this side's own upload to it moved during
// the round (movingBytes): then its ping may be queued behind that upload on a slow link, and the peer is
// given until the upload since it went silent passes absorbBytes (what a paused peer's
// buffers can still take). Requests that were waiting when the losing round began then fail
// with api.ErrUnavailable; those that came later wait for a round of their own. A round this
// process slept through (paused itself, starved of CPU) gives no verdict; a ping that fails
// otherwise (no connection: the endpoint reports that itself; a stream limit) proves nothing.
// One probe per peer, whatever the number of waiting requests: libp2p allows a few ping
// streams per peer, and pings beyond them fail at once. Pings go over whichever connection
// libp2p picks: a peer with a dead connection and a live one is judged by the live one's bytes.
//
// A round is a timer that starts an I/O worker (one ping), which reports back to probeDone;
// nothing loops. Peers that do not list the ping protocol are not probed.

// absorbBytes bounds what a paused peer can still take from this side (its yamux windows of up
// to 16 MiB and socket buffers): while this side's upload to a silent peer goes on and stays
// under it, the peer may be alive behind a slow link with the ping queued after the upload;
// past it, or once the upload stops moving, it is not.
const absorbBytes = 24 << 20

// movingBytes is the least upload during a round that counts as this side's upload moving:
// the heartbeats and gossip a member gets anyway are less, and a ping is not held up for
// seconds behind them.
const movingBytes = 64 << 10

// A round's verdict.
type roundVerdict int

const (
	roundAnswered roundVerdict = iota // the ping came back, or bytes came from the peer
	roundSilent                       // the ping timed out and nothing came from the peer
	roundVoid                         // this process stood still during the round: no verdict
)

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
	id       peer.ID
	name     string
	waiters  map[*context.CancelCauseFunc]time.Time // when each began waiting
	timer    *time.Timer
	running  bool      // a round's ping is under way
	began    time.Time // when the running round began
	uploaded int64     // bytes sent to the peer since it went silent
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
		p = &prober{id: id, name: name, waiters: map[*context.CancelCauseFunc]time.Time{}}
		// Made stopped and armed once assigned: its callback reads p.timer.
		p.timer = time.AfterFunc(math.MaxInt64, func() { r.probeRound(p) })
		p.timer.Reset(r.cfg.ProbeAfter)
		r.probes[id] = p
	}
	p.waiters[key] = time.Now()
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
	p.running, p.began = true, time.Now()
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		in0, out0 := r.traffic(p.id)
		start := time.Now()
		timedOut := r.pingTimedOut(p.id)
		in1, out1 := r.traffic(p.id)
		if time.Since(start) > r.cfg.ProbeTimeout+r.cfg.ProbeTimeout/2 {
			// This process stood still (paused, starved): the answer may be sitting unread.
			r.probeDone(p, roundVoid, 0)
			return
		}
		v := roundAnswered
		if timedOut && in1 == in0 {
			v = roundSilent
		}
		r.probeDone(p, v, out1-out0)
	}()
}

// traffic is the bytes received from and sent to id so far (zero without Config.Traffic).
func (r *Remote) traffic(id peer.ID) (in, out int64) {
	if r.cfg.Traffic == nil {
		return 0, 0
	}
	return r.cfg.Traffic(id)
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

// probeDone takes a round's verdict and what this side sent the peer during it. The peer is
// lost when it was silent and this side's upload to it did not move, or moved past
// absorbBytes since it went silent; the requests that waited since before the round then
// fail. The next round is armed while any request waits.
func (r *Remote) probeDone(p *prober, v roundVerdict, sent int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p.running = false
	if r.closed {
		delete(r.probes, p.id)
		return
	}
	switch v {
	case roundAnswered:
		p.uploaded = 0
	case roundSilent:
		if sent >= movingBytes && p.uploaded+sent < absorbBytes {
			p.uploaded += sent
			break
		}
		err := probeLost{fmt.Errorf("%w: peer %s does not answer: no libp2p ping answer within %s and nothing received from it; paused, overloaded or cut off", api.ErrUnavailable, p.name, r.cfg.ProbeTimeout)}
		for cancel, since := range p.waiters {
			if !since.After(p.began) {
				(*cancel)(err)
				delete(p.waiters, cancel)
			}
		}
	}
	if len(p.waiters) == 0 {
		delete(r.probes, p.id)
		return
	}
	p.timer.Reset(r.cfg.ProbeAfter)
}
