package impair

import (
	"fmt"
	"sync/atomic"
)

// Stats counts what a relay did; safe to read while it runs.
type Stats struct {
	Streams      atomic.Int64 // TCP connections relayed
	Bytes        atomic.Int64 // TCP payload bytes delivered, both directions
	Chunks       atomic.Int64 // TCP chunks delivered
	Segments     atomic.Int64 // TCP segments counted by the loss model
	LostSegments atomic.Int64 // of which lost at least once (each cost its chunk an RTO)
	Datagrams    atomic.Int64 // UDP datagrams received from either side
	Dropped      atomic.Int64 // of which dropped
}

// String is the one-line summary cmd/netimpair prints.
func (s *Stats) String() string {
	return fmt.Sprintf("tcp: %d streams, %d bytes in %d chunks, %d of %d segments lost; udp: %d datagrams, %d dropped",
		s.Streams.Load(), s.Bytes.Load(), s.Chunks.Load(), s.LostSegments.Load(), s.Segments.Load(),
		s.Datagrams.Load(), s.Dropped.Load())
}
