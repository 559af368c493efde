package remote

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	lping "github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/pincluster/pincluster/api"
)

// Liveness probes. A peer whose process is paused (SIGSTOP, a frozen VM) or whose host is cut
// off without a reset keeps its connection open: a request to it gets no answer and no error,
// and waits for RequestTimeout (10 s), so every fan-out (status --fresh, peers ls, recover)
// took that long while one member hung. A request to another peer that is still unanswered
// after ProbeAfter therefore pings the peer (libp2p's ping protocol, which its host answers
// on its own goroutine however busy its actors are) and gives up with api.ErrUnavailable when
// a ping goes unanswered for ProbeTimeout; while the pings are answered it waits on, pinging
// again every ProbeAfter, since a slow answer from a live peer (a large status) is not a
// fault. Peers that do not list the ping protocol are not probed.

// Defaults for the probe settings of Config.
const (
	DefaultProbeAfter   = 2 * time.Second
	DefaultProbeTimeout = 3 * time.Second
)

// probeLost is the cause a probe cancels a request with.
type probeLost struct{ err error }

func (p probeLost) Error() string { return p.err.Error() }
func (p probeLost) Unwrap() error { return p.err }

// watch arms the probe of a request to p that waits under ctx (cancelled with cancel); the
// returned stop ends it. Each round is a scheduled call, not a loop: a ping bounded by
// ProbeTimeout, then the next round armed ProbeAfter later, until the request ends.
func (r *Remote) watch(ctx context.Context, p peer.ID, peerName string, cancel context.CancelCauseFunc) (stop func()) {
	if ok, err := r.h.Peerstore().SupportsProtocols(p, lping.ID); err != nil || len(ok) == 0 {
		return func() {}
	}
	var t *time.Timer
	round := func() {
		pctx, pcancel := context.WithTimeout(ctx, r.cfg.ProbeTimeout)
		defer pcancel()
		var res lping.Result
		select {
		case res = <-lping.Ping(pctx, r.h, p):
		case <-pctx.Done():
			res.Error = pctx.Err()
		}
		switch {
		case ctx.Err() != nil: // the request ended meanwhile
		case res.Error != nil:
			cancel(probeLost{fmt.Errorf("%w: peer %s does not answer: no libp2p ping answer within %s (%v); paused, overloaded or cut off", api.ErrUnavailable, peerName, r.cfg.ProbeTimeout, res.Error)})
		default:
			t.Reset(r.cfg.ProbeAfter)
		}
	}
	t = time.AfterFunc(r.cfg.ProbeAfter, round)
	return func() { t.Stop() }
}
