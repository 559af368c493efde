package remote

import (
	"bufio"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// outFrame is one encoded envelope waiting for the writer. sender is set when the sender is
// local and may be waiting for a reply.
type outFrame struct {
	data   []byte
	sender *actor.PID
}

// endpoint is the outbound side to one peer: a queue and a writer goroutine that owns one
// libp2p stream, so frames reach the peer in the order they were sent. An endpoint that fails
// dies for good (its requests fail with CodeUnreachable); the next message starts a new one.
type endpoint struct {
	r    *Remote
	peer peer.ID
	wake chan struct{} // capacity 1: the queue has frames
	done chan struct{} // closed when the endpoint dies

	mu    sync.Mutex
	queue []outFrame
	dead  bool
}

func newEndpoint(r *Remote, p peer.ID) *endpoint {
	return &endpoint{r: r, peer: p, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues a frame. ok is false if the endpoint is dead; rerr is set if its queue is full.
func (ep *endpoint) push(f outFrame) (ok bool, rerr *RemoteError) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.dead {
		return false, nil
	}
	if len(ep.queue) >= maxQueuedFrames {
		return true, remoteErr(CodeOverloaded, "outbound queue to peer %s is full (%d messages): the peer is slow or unreachable; retry later", ep.peer, maxQueuedFrames)
	}
	ep.queue = append(ep.queue, f)
	select {
	case ep.wake <- struct{}{}:
	default:
	}
	return true, nil
}

func (ep *endpoint) take() []outFrame {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	q := ep.queue
	ep.queue = nil
	return q
}

// die marks the endpoint dead, removes it from the Remote and fails the requests it carried.
// It is idempotent.
func (ep *endpoint) die(err *RemoteError) {
	ep.mu.Lock()
	if ep.dead {
		ep.mu.Unlock()
		return
	}
	ep.dead = true
	dropped := len(ep.queue)
	ep.queue = nil
	close(ep.done)
	ep.mu.Unlock()

	r := ep.r
	r.mu.Lock()
	if r.endpoints[ep.peer] == ep {
		delete(r.endpoints, ep.peer)
	}
	r.mu.Unlock()
	failed := r.pending.takeEndpoint(ep)
	for _, p := range failed {
		for i := 0; i < p.n; i++ {
			r.failLocal(p.sender, err)
		}
	}
	r.log.Debug("endpoint closed", "peer", ep.peer, "err", err.Message, "queued", dropped, "failed_requests", len(failed))
}

// run dials the peer, then writes queued frames until the endpoint dies.
func (ep *endpoint) run() {
	r := ep.r
	defer r.wg.Done()
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.DialTimeout)
	s, err := r.h.NewStream(ctx, ep.peer, ProtocolID)
	cancel()
	if err != nil {
		ep.die(remoteErr(CodeUnreachable, "peer %s unreachable: %v", ep.peer, err))
		return
	}
	defer func() { _ = s.Reset() }()
	r.wg.Add(1)
	go ep.watch(s)

	w := bufio.NewWriterSize(s, 64<<10)
	for {
		select {
		case <-ep.done:
			return
		case <-ep.wake:
		}
		frames := ep.take()
		if len(frames) == 0 {
			continue
		}
		_ = s.SetWriteDeadline(time.Now().Add(r.cfg.RequestTimeout))
		for _, f := range frames {
			if _, err := w.Write(f.data); err != nil {
				ep.die(remoteErr(CodeUnreachable, "peer %s unreachable: write: %v", ep.peer, err))
				return
			}
		}
		if err := w.Flush(); err != nil {
			ep.die(remoteErr(CodeUnreachable, "peer %s unreachable: write: %v", ep.peer, err))
			return
		}
	}
}

// watch reads the outbound stream, on which the peer never writes: the read ends when the
// peer closes the stream or the connection is lost, and the endpoint dies at once so pending
// requests fail fast instead of timing out.
func (ep *endpoint) watch(s network.Stream) {
	defer ep.r.wg.Done()
	var buf [1]byte
	_, err := s.Read(buf[:])
	cause := "the peer closed the stream"
	switch {
	case err == nil:
		cause = "the peer wrote on a one-way stream"
	case !errors.Is(err, io.EOF):
		cause = "connection lost: " + err.Error()
	}
	ep.die(remoteErr(CodeUnreachable, "peer %s unreachable: %s", ep.peer, cause))
}
