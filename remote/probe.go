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
// whose ping runs out its time is a strike unless bytes arrived from the peer meanwhile, on
// any protocol (Config.Traffic: on a slow link a ping's echo waits behind whatever the peer
// is sending, blocks or a large answer). The peer is lost at the first strike of a round in
// which this side did not upload to it (uploadBytes), or at the second strike in a row (when
// this side is uploading, its own ping waits behind that; and a paused peer's kernel goes on
// taking bytes for a while, so sending alone does not prove it alive). Requests that were waiting when the
// losing round began then fail with api.ErrUnavailable; those that came later wait for a
// round of their own. A ping that fails otherwise (no connection: the endpoint reports that
// itself; a stream limit) proves nothing. One probe per peer, whatever the number of waiting
// requests: libp2p allows a few ping streams per peer, and pings beyond them fail at once.
//
// A round is a timer that starts an I/O worker (one ping), which reports back to probeDone;
// nothing loops. Peers that do not list the ping protocol are not probed.

// uploadBytes is how much this side must send a peer during a round for its timed-out ping to
// count as possibly held up behind the upload (256 KiB in 3 s is about 700 kbit/s): the
// heartbeats and gossip a member gets anyway would otherwise double the time to give up.
const uploadBytes = 256 << 10

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
	waiters map[*context.CancelCauseFunc]time.Time // when each began waiting
	timer   *time.Timer
	running bool      // a round's ping is under way
	began   time.Time // when the running round began
	strikes int       // rounds in a row whose ping timed out with nothing received
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
		timedOut := r.pingTimedOut(p.id)
		in1, out1 := r.traffic(p.id)
		r.probeDone(p, timedOut && in1 == in0, out1-out0 >= uploadBytes)
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

// probeDone takes a round's verdict (strike: the ping timed out with nothing received; sent:
// this side uploaded at least uploadBytes to the peer meanwhile). When the peer is lost the
// requests that waited since before the round fail; the next round is armed while any waits.
func (r *Remote) probeDone(p *prober, strike, sent bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p.running = false
	if strike {
		p.strikes++
	} else {
		p.strikes = 0
	}
	if r.closed {
		delete(r.probes, p.id)
		return
	}
	if p.strikes >= 2 || (p.strikes == 1 && !sent) {
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
