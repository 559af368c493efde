package impair

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// readSize is the most a TCP direction reads at once: one chunk of the model.
const readSize = 32 << 10

// DefaultQueueChunks bounds the chunks in flight per direction (32 KiB each: 2 MiB, about the
// window of a long fat link).
const DefaultQueueChunks = 64

// TCPRelay accepts connections and relays each to the upstream Dial returns, delaying and
// losing its bytes in both directions as Link says.
type TCPRelay struct {
	Link        Link
	Seed        uint64
	QueueChunks int // per direction; 0 means DefaultQueueChunks
	// Dial opens the upstream connection for an accepted one: a fixed target, or, for a
	// transparent relay, the address the client meant (the accepted connection's local
	// address).
	Dial  func(ctx context.Context, accepted net.Conn) (net.Conn, error)
	Log   *slog.Logger
	Stats Stats

	seq atomic.Uint64
}

// Serve accepts on ln until ctx ends or ln fails, and closes ln and every relayed connection
// when ctx ends. It returns nil after ctx ended.
func (r *TCPRelay) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.relay(ctx, c)
		}()
	}
}

// relay carries one connection until both directions end.
func (r *TCPRelay) relay(ctx context.Context, c net.Conn) {
	seq := r.seq.Add(1)
	up, err := r.Dial(ctx, c)
	if err != nil {
		r.logger().Debug("upstream dial failed", "from", c.RemoteAddr(), "to", c.LocalAddr(), "err", err)
		c.Close()
		return
	}
	r.Stats.Streams.Add(1)
	stop := context.AfterFunc(ctx, func() { c.Close(); up.Close() })
	defer stop()
	q := r.QueueChunks
	if q <= 0 {
		q = DefaultQueueChunks
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.pipe(up, c, newModel(r.Link, r.Seed, 2*seq), q) }()
	go func() { defer wg.Done(); r.pipe(c, up, newModel(r.Link, r.Seed, 2*seq+1), q) }()
	wg.Wait()
	c.Close()
	up.Close()
}

// chunk is bytes read from one side, to be written to the other at due.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst through the model: the caller's goroutine reads and stamps, a second
// one waits and writes. At src's EOF it half-closes dst once the queue is written; on any
// error it closes both, so the other direction ends too.
func (r *TCPRelay) pipe(dst, src net.Conn, m *model, queue int) {
	q := make(chan chunk, queue)
	wrote := make(chan error, 1)
	go func() { wrote <- r.write(dst, src, q) }()
	var last time.Time
	buf := make([]byte, readSize)
	var rerr error
	for {
		n, err := src.Read(buf)
		if n > 0 {
			d, losses := m.chunk(n)
			due := time.Now().Add(d)
			if due.Before(last) {
				due = last // a stream is delivered in order: a late chunk holds back the rest
			}
			last = due
			r.Stats.Segments.Add(int64((n + MSS - 1) / MSS))
			r.Stats.LostSegments.Add(int64(losses))
			q <- chunk{b: append([]byte(nil), buf[:n]...), due: due}
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(q)
	werr := <-wrote
	if errors.Is(rerr, io.EOF) && werr == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
			return
		}
	}
	dst.Close()
	src.Close()
}

// write delivers the queue's chunks at their due times. After a write error it closes src (so
// the reader stops) and drains the queue without writing.
func (r *TCPRelay) write(dst, src net.Conn, q <-chan chunk) error {
	var err error
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for c := range q {
		if err != nil {
			continue
		}
		if wait := time.Until(c.due); wait > 0 {
			t.Reset(wait)
			<-t.C
		}
		if _, err = dst.Write(c.b); err != nil {
			src.Close()
			continue
		}
		r.Stats.Bytes.Add(int64(len(c.b)))
		r.Stats.Chunks.Add(1)
	}
	return err
}

func (r *TCPRelay) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// DialTarget is a Dial that always connects to addr (a relay per link).
func DialTarget(addr string) func(context.Context, net.Conn) (net.Conn, error) {
	var d net.Dialer
	return func(ctx context.Context, _ net.Conn) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
}
