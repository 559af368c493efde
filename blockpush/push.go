package blockpush

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/connhold"
	"github.com/pincluster/pincluster/ipfs"
)

// The sender's window: blocks sent and not yet acked. Larger than a receiver batch (ackBlocks,
// ackBytes) so the receiver always has a full batch to ack while the sender waits.
const (
	WindowBlocks = 4 * ackBlocks
	WindowBytes  = 4 * ackBytes
)

// Progress is one allocation's state during a push.
type Progress struct {
	Peer   peer.ID
	Blocks int    // blocks acked (stored) by the peer
	Bytes  uint64 // their size
	Total  int    // blocks to push
}

// Pusher sends a spool's blocks to peers: over ProtocolID to another peer, straight into the
// local IPFS node for this peer. It is safe for concurrent use: each Push runs on the caller's
// goroutine plus one ack reader per stream.
type Pusher struct {
	h     host.Host
	local ipfs.BlockPutter // nil: this peer's backend cannot store pushed blocks
	dir   string
	log   *slog.Logger
	slots chan struct{}  // one per push running; MaxPushes
	holds connhold.Holds // the pushes' connections, kept from trimming
}

// MaxPushes caps the pushes one peer runs at once, over all its adds: each holds a stream, a
// window of blocks in flight and a spool reader, so many concurrent adds with a high
// replication would otherwise open streams without bound. A push waits for a slot (its
// context still applies); an add's own pushes never wait on each other, so waiting cannot
// deadlock.
const MaxPushes = 16

// NewPusher pushes from h; local stores blocks allocated to this peer; spools go in dir
// (the system's temporary directory when empty).
func NewPusher(h host.Host, local ipfs.BlockPutter, dir string, log *slog.Logger) *Pusher {
	if log == nil {
		log = slog.Default()
	}
	return &Pusher{h: h, local: local, dir: dir, log: log.With("component", "blockpush"), slots: make(chan struct{}, MaxPushes)}
}

// NewSpool makes the temporary blockstore of one add.
func (p *Pusher) NewSpool() (*Spool, error) { return NewSpool(p.dir) }

// Push stores every block of sp (a Spool, or a Part of one) on peer to's IPFS node and returns once to acked the last
// one. progress (may be nil) is called after each acked batch. Errors name the peer; a peer
// that cannot be reached or breaks off wraps api.ErrUnavailable, one that refuses the push
// (not trusted, a backend that cannot store blocks) says why.
func (p *Pusher) Push(ctx context.Context, to peer.ID, sp Source, root cid.Cid, progress func(Progress)) error {
	if progress == nil {
		progress = func(Progress) {}
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if to == p.h.ID() {
		return p.pushLocal(ctx, sp, root, progress)
	}
	err := p.pushRemote(ctx, to, sp, root, progress)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: pushing the blocks of %s to peer %s: %w", api.ErrUnavailable, root, to, err)
	}
	return err
}

func (p *Pusher) pushLocal(ctx context.Context, sp Source, root cid.Cid, progress func(Progress)) error {
	if p.local == nil {
		return fmt.Errorf("%w: this peer's IPFS backend cannot store pushed blocks", api.ErrUnavailable)
	}
	total := sp.Len()
	var batch []blocks.Block
	var bytes uint64
	size := 0
	for i := 0; i < total; i++ {
		b, err := sp.Block(i)
		if err != nil {
			return err
		}
		batch = append(batch, b)
		size += len(b.RawData())
		if len(batch) < ackBlocks && size < ackBytes && i+1 < total {
			continue
		}
		if err := p.local.PutBlocks(ctx, root, batch); err != nil {
			return fmt.Errorf("storing the blocks of %s in this peer's IPFS node: %w", root, err)
		}
		bytes += uint64(size)
		progress(Progress{Peer: p.h.ID(), Blocks: i + 1, Bytes: bytes, Total: total})
		batch, size = batch[:0], 0
	}
	return nil
}

// ackMsg is what the ack reader reports: a count acked, the end (done), or the stream's end.
type ackMsg struct {
	acked uint64
	done  bool
	err   error
}

func (p *Pusher) pushRemote(ctx context.Context, to peer.ID, sp Source, root cid.Cid, progress func(Progress)) (err error) {
	// A push cut midway starts again from the first block (on another peer), so its
	// connection is kept from the connection manager's trimming while it runs; a tag per push
	// keeps concurrent pushes to one peer from releasing each other's.
	defer p.holds.Hold(p.h.ConnManager(), "pincluster-push", to)()
	st, err := p.h.NewStream(ctx, to, ProtocolID)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = st.Reset() // the receiver drops what it has not stored
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()

	acks := make(chan ackMsg, 16)
	go readAcks(ctx, st, acks) // the stream's one reader; it ends when the stream does

	w := bufio.NewWriterSize(st, 256<<10)
	if err := writeFrame(w, frameHello, root.Bytes()); err != nil {
		return err
	}
	total := sp.Len()
	sizes := make([]int, total) // to know the bytes in flight once acked
	var acked uint64
	var inflightBytes int
	var ackedBytes uint64
	// handle takes in one message of the ack reader.
	handle := func(m ackMsg) error {
		if m.err != nil {
			return m.err
		}
		if m.acked > uint64(total) || m.acked < acked {
			return fmt.Errorf("%w: ack of %d blocks out of %d", errBadFrame, m.acked, total)
		}
		for ; acked < m.acked; acked++ {
			inflightBytes -= sizes[acked]
			ackedBytes += uint64(sizes[acked])
		}
		progress(Progress{Peer: to, Blocks: int(acked), Bytes: ackedBytes, Total: total})
		if m.done && acked != uint64(total) {
			return fmt.Errorf("peer stored %d blocks of %d", acked, total)
		}
		if m.done {
			return errDone
		}
		return nil
	}
	// explain prefers the receiver's reason (an error frame on its way) to a failed write.
	explain := func(err error) error {
		t := time.NewTimer(refuseLinger)
		defer t.Stop()
		select {
		case m := <-acks:
			if m.err != nil {
				return m.err
			}
		case <-t.C:
		case <-ctx.Done():
		}
		return err
	}
	wait := func() error {
		if err := w.Flush(); err != nil {
			return explain(err)
		}
		select {
		case m := <-acks:
			return handle(m)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := 0; i < total; i++ {
		select {
		case m := <-acks: // an ack or the receiver's error, as early as it comes
			if err := handle(m); err != nil {
				return err
			}
		default:
		}
		for uint64(i)-acked >= WindowBlocks || inflightBytes >= WindowBytes {
			if err := wait(); err != nil {
				return err
			}
		}
		b, err := sp.Block(i)
		if err != nil {
			return err
		}
		sizes[i] = len(b.RawData())
		inflightBytes += sizes[i]
		_ = st.SetWriteDeadline(time.Now().Add(IdleTimeout))
		if err := writeFrame(w, frameBlock, encodeBlock(b)...); err != nil {
			return explain(err)
		}
	}
	if err := writeFrame(w, frameEnd); err != nil {
		return explain(err)
	}
	for {
		err := wait()
		if errors.Is(err, errDone) {
			return st.Close()
		}
		if err != nil {
			return err
		}
	}
}

var errDone = errors.New("push done")

// readAcks reads the receiver's frames and reports them; it exits at the done frame, the first
// error (reported last) or when ctx ends (the push returned).
func readAcks(ctx context.Context, st interface {
	Read([]byte) (int, error)
	SetReadDeadline(time.Time) error
}, out chan<- ackMsg) {
	send := func(m ackMsg) bool {
		select {
		case out <- m:
			return m.err == nil && !m.done
		case <-ctx.Done():
			return false
		}
	}
	r := bufio.NewReader(st)
	for {
		_ = st.SetReadDeadline(time.Now().Add(IdleTimeout))
		typ, payload, err := readFrame(r)
		var m ackMsg
		switch {
		case err != nil:
			m.err = fmt.Errorf("reading acks: %w", err)
		case typ == frameAck || typ == frameDone:
			m.acked, m.err = decodeUvarint(payload)
			m.done = typ == frameDone
		case typ == frameError:
			m.err = fmt.Errorf("refused: %s", truncate(string(payload), 512))
		default:
			m.err = fmt.Errorf("%w: unexpected frame 0x%02x from the receiver", errBadFrame, typ)
		}
		if !send(m) {
			return
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
