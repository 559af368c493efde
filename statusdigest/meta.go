package statusdigest

import (
	"slices"
	"time"
)

// RetiredWindow is how long a replica refuses an epoch it left. Decision: a publisher's epoch
// changes when it lost its store (a new random epoch), and a heartbeat or delta of its
// previous life can still arrive after the new epoch's first (gossip reorders, and a message
// may wait in a peer's queue); taking it would drop the replica for an epoch the publisher no
// longer keeps, force a whole pull, and, for a heartbeat at seq 0, show the peer current and
// empty. The refusal is bounded in time because a publisher restored from a backup
// legitimately returns to an old epoch: its digests are taken again after the window, and
// meanwhile the replica of the epoch it left gets no heartbeat and turns stale after the ping
// TTL (shown as such). Two minutes is gossipsub's default memory of seen messages, past which
// a late message is not told from a new one anyway.
const RetiredWindow = 2 * time.Minute

// MaxPending bounds the deltas a replica remembers past its contiguous seq; beyond them it
// pulls rather than remembers.
const MaxPending = 256

// Meta is a replica's version of one publisher's digest.
type Meta struct {
	Epoch uint64 `json:"epoch"`
	// Floor: every change up to it is in the replica (a pull ended there); deltas at or
	// below it are ignored.
	Floor uint64 `json:"floor"`
	// Contiguous: every delta up to it is applied (or covered by a pull).
	Contiguous uint64 `json:"contiguous"`
	// Pending are the applied deltas past Contiguous, sorted.
	Pending []uint64 `json:"pending,omitempty"`
	// Heard is the highest seq the publisher announced (delta or heartbeat).
	Heard uint64 `json:"heard"`
	// Gen is the generation of the last pull started.
	Gen uint64 `json:"gen"`
	// Updated is when the replica was last known current.
	Updated time.Time `json:"updated"`
	// Peername and IPFS are the last peername and IPFS peer ID the publisher's heartbeats
	// told ("": none yet, or a peer of an earlier version).
	Peername string `json:"peername,omitempty"`
	IPFS     string `json:"ipfs,omitempty"`
	// Retired are the epochs this replica left less than RetiredWindow ago (at most
	// MaxRetired, the latest): their digests are refused (Refuses). More than one, as a
	// publisher that crash-loops without its store makes an epoch a restart, and a late
	// message of the first must not retire the live one.
	Retired []RetiredEpoch `json:"retired,omitempty"`
}

// RetiredEpoch is an epoch a replica left, and when.
type RetiredEpoch struct {
	Epoch uint64    `json:"epoch"`
	At    time.Time `json:"at"`
}

// MaxRetired bounds Meta.Retired.
const MaxRetired = 4

// Current reports whether the replica holds every change its publisher announced.
func (m *Meta) Current() bool { return m.Epoch != 0 && m.Contiguous >= m.Heard }

// Reset starts a replica of a new epoch at now (the old entries must be dropped), retiring
// the one it held. The publisher is the same peer: its peername and IPFS peer ID stay until
// a heartbeat tells others.
func (m *Meta) Reset(epoch uint64, now time.Time) {
	var retired []RetiredEpoch
	for _, r := range m.Retired { // the ones still within the window, but the new epoch
		if r.Epoch != epoch && within(r.At, now) {
			retired = append(retired, r)
		}
	}
	if m.Epoch != 0 && m.Epoch != epoch {
		retired = append(retired, RetiredEpoch{Epoch: m.Epoch, At: now})
	}
	retired = retired[max(0, len(retired)-MaxRetired):]
	if len(retired) == 0 {
		retired = nil
	}
	*m = Meta{Epoch: epoch, Gen: m.Gen, Peername: m.Peername, IPFS: m.IPFS, Retired: retired}
}

// Refuses reports whether a digest of epoch, arriving at now, is a late one of an epoch this
// replica left less than RetiredWindow before (RetiredWindow says why it is ignored).
func (m *Meta) Refuses(epoch uint64, now time.Time) bool {
	if epoch == m.Epoch {
		return false
	}
	for _, r := range m.Retired {
		if r.Epoch == epoch && within(r.At, now) {
			return true
		}
	}
	return false
}

// within reports whether now is less than RetiredWindow after at. A stored time has no
// monotonic reading: a clock set back must not make the refusal outlast the window.
func within(at, now time.Time) bool {
	d := now.Sub(at)
	return d >= 0 && d < RetiredWindow
}

// Told records the peername and IPFS peer ID a heartbeat told; one that tells none (a peer of
// an earlier version, or whose IPFS node did not answer) leaves the known ones.
func (m *Meta) Told(d Digest) {
	if !d.Heartbeat {
		return
	}
	if d.Peername != "" {
		m.Peername = d.Peername
	}
	if d.IPFS != "" {
		m.IPFS = d.IPFS
	}
}

// Hear records that the publisher announced seq at now; the replica is marked current
// (Updated) when it holds everything up to it.
func (m *Meta) Hear(seq uint64, now time.Time) {
	m.Heard = max(m.Heard, seq)
	if m.Current() {
		m.Updated = now
	}
}

// Applied records the delta seq as applied.
func (m *Meta) Applied(seq uint64) {
	if seq <= m.Contiguous {
		return
	}
	if i, found := slices.BinarySearch(m.Pending, seq); !found {
		if len(m.Pending) >= MaxPending {
			return // a pull will cover it
		}
		m.Pending = slices.Insert(m.Pending, i, seq)
	}
	m.advance()
}

// Pulled records a pull that ended at version seq (the publisher's seq when it started).
func (m *Meta) Pulled(seq uint64) {
	m.Floor = max(m.Floor, seq)
	m.Contiguous = max(m.Contiguous, seq)
	m.advance()
}

func (m *Meta) advance() {
	i := 0
	for ; i < len(m.Pending); i++ {
		p := m.Pending[i]
		if p > m.Contiguous+1 {
			break
		}
		m.Contiguous = max(m.Contiguous, p)
	}
	m.Pending = slices.Delete(m.Pending, 0, i)
	if len(m.Pending) == 0 {
		m.Pending = nil
	}
}

// Stale tells why a replica cannot be shown at now under ttl ("": it can), and how old it
// is. A replica behind its publisher (a pull under way) is shown with the age of the last
// time it was current (Updated), until that is older than ttl.
func (m *Meta) Stale(now time.Time, ttl time.Duration) (why string, age time.Duration) {
	if m == nil || m.Epoch == 0 || m.Updated.IsZero() {
		return "no status digest from this peer yet", 0
	}
	age = now.Sub(m.Updated)
	switch {
	case age > ttl:
		return "no status digest from this peer for " + age.Round(time.Second).String() + " (longer than the ping TTL " + ttl.String() + ")", age
	}
	return "", age
}
