package crdt

import (
	"sync"
	"time"
)

// HLC is a hybrid logical clock timestamp: wall-clock milliseconds in the high 48 bits and a
// logical counter in the low 16. It orders events causally across peers whose clocks drift, and
// sorts as a plain uint64.
type HLC uint64

const hlcLogicalBits = 16

// Wall is the timestamp's physical part.
func (h HLC) Wall() time.Time { return time.UnixMilli(int64(h >> hlcLogicalBits)) }

// MakeHLC builds a timestamp.
func MakeHLC(wallMillis int64, logical uint16) HLC {
	return HLC(uint64(wallMillis)<<hlcLogicalBits | uint64(logical))
}

// Clock issues HLC timestamps. Now is strictly greater than every timestamp it issued or
// observed. It is safe for concurrent use.
type Clock struct {
	mu   sync.Mutex
	last HLC
	now  func() time.Time
}

// NewClock returns a clock reading wall time from now (time.Now when nil).
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a new timestamp greater than any issued or observed.
func (c *Clock) Now() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	wall := MakeHLC(c.now().UnixMilli(), 0)
	if wall > c.last {
		c.last = wall
	} else {
		c.last++ // logical overflow carries into the millisecond, which stays monotonic
	}
	return c.last
}

// Observe merges a timestamp seen from another peer (or read back from storage) so that later
// Now values are greater than it.
func (c *Clock) Observe(h HLC) {
	c.mu.Lock()
	if h > c.last {
		c.last = h
	}
	c.mu.Unlock()
}
