package syncer

import (
	"math"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/messages"
)

// Streams: a pull does not ask for ops that are on their way by gossip.
//
// During a batch ingest the ingesting peer gossips a large batch every second or so, and the
// other peers are always a batch or two behind it. A pull made in that moment (every
// rebroadcast_interval, and on a new connection) was answered with those ops, page after page
// while the ingest lasted, and the gossip then delivered them a second time: measured on 3
// peers ingesting 200k pins, one replica pulled 39k ops this way and the ingesting peer spent
// 6% of its CPU reading them back from its log (5-8% of the cluster's CPU, and as much pins/s).
//
// So the gossip reader tells Streams, per origin, the last seq it handed to the pinset; while
// an origin is streaming (such a batch less than streamWindow ago), a pull says it holds every
// op of that origin after that seq (one held range to the end of the log, listed first so it
// is never cut), and the responder sends only the holes before it. What this can delay, never
// lose: a batch lost inside a stream shows as a gap when the next one arrives, and gaps are
// still pulled; a lost last batch is pulled by the first pull after the stream stops.
//
// Streams is shared by the gossip reader (an I/O worker) and pulls (in the anti-entropy
// scheduler's worker): a small table behind a mutex, one entry per trusted origin.
type Streams struct {
	mu   sync.Mutex
	last map[peer.ID]arrival
	now  func() time.Time
}

// streamWindow is how long after its last gossiped batch an origin counts as streaming: a
// batch ingest gossips one about every second.
const streamWindow = 3 * time.Second

type arrival struct {
	seq uint64
	at  time.Time
}

// NewStreams returns an empty table.
func NewStreams() *Streams {
	return &Streams{last: map[peer.ID]arrival{}, now: time.Now}
}

// Arrived records that origin's ops up to seq were handed to the pinset by gossip. It never
// blocks for long.
func (s *Streams) Arrived(origin peer.ID, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.last[origin]; ok && a.seq > seq {
		seq = a.seq // a late, reordered batch does not move the stream back
	}
	s.last[origin] = arrival{seq: seq, at: s.now()}
}

// tails lists, for each streaming origin, the range after its last gossiped op; it forgets
// the origins that stopped.
func (s *Streams) tails() []messages.SeqRange {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []messages.SeqRange
	for origin, a := range s.last {
		if now.Sub(a.at) >= streamWindow {
			delete(s.last, origin)
			continue
		}
		if a.seq < math.MaxUint64 && len(out) < messages.MaxHeldRanges/2 {
			out = append(out, messages.SeqRange{Origin: origin.String(), From: a.seq + 1, To: math.MaxUint64})
		}
	}
	return out
}

// WithStreams makes pulls leave out what the gossip is delivering (see Streams).
func WithStreams(st *Streams) Option {
	return func(s *Syncer) { s.streams = st }
}
