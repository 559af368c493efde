package blockpush

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/internal/connhold"
	"github.com/pincluster/pincluster/ipfs"
)

// ProtocolID is the libp2p protocol of a block push.
const ProtocolID = "/pincluster/blocks/1"

// The receiver stores a batch and acks it once it holds ackBlocks blocks or ackBytes bytes (or
// at the end frame). The sender's window (Window*) is larger, so it never waits on a batch the
// receiver is still filling.
const (
	ackBlocks = 32
	ackBytes  = 4 << 20
)

// IdleTimeout bounds the wait for the next frame on either side: a peer that stops sending or
// acking for that long is dropped.
const IdleTimeout = time.Minute

// refuseLinger bounds how long a refused or failed push's stream is kept to deliver the reason.
const refuseLinger = 5 * time.Second

// Server receives block pushes: it writes each verified block into this peer's IPFS node and
// acks in batches. Only peers authorize accepts may push (the trust policy, cluster/rpcwire).
// libp2p runs each stream's handler on its own goroutine; the handler is the stream's only
// reader and writer.
type Server struct {
	h         host.Host
	put       ipfs.BlockPutter
	authorize func(peer.ID) error
	log       *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	holds  connhold.Holds // the pushes' connections, kept from trimming
}

// NewServer serves ProtocolID on h. put may be nil (a backend that cannot store pushed blocks):
// every push is then refused with a message saying so.
func NewServer(h host.Host, put ipfs.BlockPutter, authorize func(peer.ID) error, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{h: h, put: put, authorize: authorize, log: log.With("component", "blockpush"), ctx: ctx, cancel: cancel}
	h.SetStreamHandler(ProtocolID, s.handle)
	return s
}

// Close stops serving and waits for the pushes in progress to end (their streams are reset).
func (s *Server) Close() {
	s.h.RemoveStreamHandler(ProtocolID)
	s.cancel()
	s.wg.Wait()
}

func (s *Server) handle(st network.Stream) {
	s.wg.Add(1)
	defer s.wg.Done()
	stop := context.AfterFunc(s.ctx, func() { _ = st.Reset() })
	defer stop()
	from := st.Conn().RemotePeer()
	// The pusher protects its end; this end's connection manager could still close the
	// connection under it (a push cut midway starts again from its first block).
	defer s.holds.Hold(s.h.ConnManager(), "pincluster-push-in", from)()
	w := bufio.NewWriter(st)
	n, err := s.receive(st, from, w)
	if err != nil {
		s.log.Info("block push refused or failed", "from", from, "stored", n, "err", err)
		// Say why, then read and drop what the sender still sends until it sees the error
		// and resets, so its writes do not fail before it has read the reason.
		_ = st.SetDeadline(time.Now().Add(refuseLinger))
		if writeFrame(w, frameError, []byte(err.Error())) == nil {
			_ = w.Flush()
		}
		_ = st.CloseWrite()
		_, _ = io.Copy(io.Discard, st)
		_ = st.Reset()
		return
	}
	s.log.Debug("block push stored", "from", from, "blocks", n)
	_ = st.Close()
}

// receive runs one push: hello, blocks (stored and acked in batches), end, done.
func (s *Server) receive(st network.Stream, from peer.ID, w *bufio.Writer) (uint64, error) {
	if s.authorize != nil {
		if err := s.authorize(from); err != nil {
			return 0, err
		}
	}
	if s.put == nil {
		return 0, errors.New("this peer's IPFS backend cannot store pushed blocks")
	}
	r := bufio.NewReaderSize(st, 256<<10)
	next := func() (byte, []byte, error) {
		_ = st.SetReadDeadline(time.Now().Add(IdleTimeout))
		typ, p, err := readFrame(r)
		if err == io.EOF {
			err = fmt.Errorf("%w: the stream ended before the end frame", errBadFrame)
		}
		return typ, p, err
	}
	typ, p, err := next()
	if err != nil {
		return 0, err
	}
	if typ != frameHello {
		return 0, fmt.Errorf("%w: expected hello, got 0x%02x", errBadFrame, typ)
	}
	root, err := decodeHello(p)
	if err != nil {
		return 0, err
	}
	var stored uint64
	var batch []blocks.Block
	batchBytes := 0
	flush := func(typ byte) error {
		if len(batch) > 0 {
			if err := s.store(root, batch); err != nil {
				return err
			}
			stored += uint64(len(batch))
			batch, batchBytes = batch[:0], 0
		}
		_ = st.SetWriteDeadline(time.Now().Add(IdleTimeout))
		if err := writeFrame(w, typ, uvarintPayload(stored)); err != nil {
			return err
		}
		return w.Flush()
	}
	for {
		typ, p, err := next()
		if err != nil {
			return stored, err
		}
		switch typ {
		case frameBlock:
			b, err := decodeBlock(p)
			if err != nil {
				return stored, err
			}
			batch = append(batch, b)
			batchBytes += len(b.RawData())
			if len(batch) >= ackBlocks || batchBytes >= ackBytes {
				if err := flush(frameAck); err != nil {
					return stored, err
				}
			}
		case frameEnd:
			return stored, flush(frameDone)
		default:
			return stored, fmt.Errorf("%w: unexpected frame 0x%02x", errBadFrame, typ)
		}
	}
}

func (s *Server) store(root cid.Cid, batch []blocks.Block) error {
	if err := s.put.PutBlocks(s.ctx, root, batch); err != nil {
		return fmt.Errorf("storing pushed blocks in the IPFS node: %w", err)
	}
	return nil
}
