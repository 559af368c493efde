package fake

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

var _ ipfs.Backend = (*Backend)(nil)

type pinFault struct {
	err   error
	times int // remaining failures; <0 means forever
}

type slow struct {
	blocks int
	every  time.Duration
}

// Backend is an in-memory IPFS node with fault injection. All methods are safe for concurrent
// use. The zero value is not usable; call New.
type Backend struct {
	mu         sync.Mutex
	closed     bool
	pins       map[string]api.PinMode
	blocks     map[string][]byte
	pinFaults  map[string]*pinFault
	unpinFault map[string]error
	stalls     map[string]chan struct{}
	slows      map[string]slow
	pinCalls   map[string]int
	unpinCalls map[string]int
	repoStat   ipfs.RepoStat
	id         api.IPFSID
}

// New returns an empty backend with no faults.
func New() *Backend {
	return &Backend{
		pins:       map[string]api.PinMode{},
		blocks:     map[string][]byte{},
		pinFaults:  map[string]*pinFault{},
		unpinFault: map[string]error{},
		stalls:     map[string]chan struct{}{},
		slows:      map[string]slow{},
		pinCalls:   map[string]int{},
		unpinCalls: map[string]int{},
		repoStat:   ipfs.RepoStat{RepoSize: 0, StorageMax: 10 << 30, FreeSpace: 10 << 30},
		id:         api.IPFSID{ID: "12D3KooWFakeIPFSNode", Addresses: []string{"/ip4/127.0.0.1/tcp/4001"}},
	}
}

func key(c api.Cid) string { return c.KeyString() }

// FailPin makes every Pin of c fail with err until ClearFaults or Heal(c).
func (b *Backend) FailPin(c api.Cid, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pinFaults[key(c)] = &pinFault{err: err, times: -1}
}

// FailPinTimes makes the next n Pins of c fail with err; later ones succeed. n <= 0 clears
// the pin fault of c.
func (b *Backend) FailPinTimes(c api.Cid, n int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n <= 0 {
		delete(b.pinFaults, key(c))
		return
	}
	b.pinFaults[key(c)] = &pinFault{err: err, times: n}
}

// StallPin makes Pin of c block until its ctx is done or Release(c).
func (b *Backend) StallPin(c api.Cid) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.stalls[key(c)]; !ok {
		b.stalls[key(c)] = make(chan struct{})
	}
}

// Release unblocks the stalled Pins of c (current and future).
func (b *Backend) Release(c api.Cid) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch, ok := b.stalls[key(c)]; ok {
		close(ch)
		delete(b.stalls, key(c))
	}
}

// SlowPin makes Pin of c report `blocks` progress blocks, one every `every`, before succeeding.
func (b *Backend) SlowPin(c api.Cid, blocks int, every time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.slows[key(c)] = slow{blocks: blocks, every: every}
}

// FailUnpin makes every Unpin of c fail with err until ClearFaults or Heal(c).
func (b *Backend) FailUnpin(c api.Cid, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.unpinFault[key(c)] = err
}

// Heal removes every fault of c (failures, stalls, slowness), releasing stalled Pins.
func (b *Backend) Heal(c api.Cid) {
	b.mu.Lock()
	k := key(c)
	delete(b.pinFaults, k)
	delete(b.unpinFault, k)
	delete(b.slows, k)
	b.mu.Unlock()
	b.Release(c)
}

// ClearFaults removes every fault of every CID.
func (b *Backend) ClearFaults() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pinFaults = map[string]*pinFault{}
	b.unpinFault = map[string]error{}
	b.slows = map[string]slow{}
	for k, ch := range b.stalls {
		close(ch)
		delete(b.stalls, k)
	}
}

// PinCalls is how many times Pin(c) was called.
func (b *Backend) PinCalls(c api.Cid) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pinCalls[key(c)]
}

// UnpinCalls is how many times Unpin(c) was called.
func (b *Backend) UnpinCalls(c api.Cid) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.unpinCalls[key(c)]
}

// Pinned reports whether c is pinned.
func (b *Backend) Pinned(c api.Cid) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.pins[key(c)]
	return ok
}

// RemovePin unpins c behind the tracker's back, like a manual `ipfs pin rm`.
func (b *Backend) RemovePin(c api.Cid) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pins, key(c))
}

// SetRepoStat sets what RepoStat returns.
func (b *Backend) SetRepoStat(s ipfs.RepoStat) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.repoStat = s
}

// ID returns a fixed fake identity.
func (b *Backend) ID(ctx context.Context) (api.IPFSID, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return api.IPFSID{}, ipfs.ErrClosed
	}
	return b.id, nil
}

// Pin applies the faults set for c, then pins it.
func (b *Backend) Pin(ctx context.Context, c api.Cid, mode api.PinMode, progress ipfs.PinProgress) error {
	k := key(c)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ipfs.ErrClosed
	}
	b.pinCalls[k]++
	stall := b.stalls[k]
	sl, isSlow := b.slows[k]
	var ferr error
	if f, ok := b.pinFaults[k]; ok {
		ferr = f.err
		if f.times > 0 {
			f.times--
			if f.times == 0 {
				delete(b.pinFaults, k)
			}
		}
	}
	b.mu.Unlock()

	if ferr != nil {
		return fmt.Errorf("fake pin %s: %w", c, ferr)
	}
	if stall != nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stall:
		}
	}
	if isSlow {
		t := time.NewTicker(sl.every)
		defer t.Stop()
		for i := 1; i <= sl.blocks; i++ {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
			if progress != nil {
				progress(uint64(i))
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ipfs.ErrClosed
	}
	b.pins[k] = mode
	return nil
}

// Unpin applies the unpin fault of c, then unpins it (ErrNotPinned when it was not pinned).
func (b *Backend) Unpin(ctx context.Context, c api.Cid) error {
	k := key(c)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ipfs.ErrClosed
	}
	b.unpinCalls[k]++
	if err := b.unpinFault[k]; err != nil {
		return fmt.Errorf("fake unpin %s: %w", c, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := b.pins[k]; !ok {
		return fmt.Errorf("unpin %s: %w", c, ipfs.ErrNotPinned)
	}
	delete(b.pins, k)
	return nil
}

// IsPinned reports whether c is pinned and how.
func (b *Backend) IsPinned(ctx context.Context, c api.Cid) (bool, api.PinMode, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false, 0, ipfs.ErrClosed
	}
	m, ok := b.pins[key(c)]
	return ok, m, nil
}

// PinLs streams a snapshot of the pins to fn.
func (b *Backend) PinLs(ctx context.Context, fn func(c api.Cid, mode api.PinMode) error) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ipfs.ErrClosed
	}
	type entry struct {
		k string
		m api.PinMode
	}
	snap := make([]entry, 0, len(b.pins))
	for k, m := range b.pins {
		snap = append(snap, entry{k, m})
	}
	b.mu.Unlock()
	for _, e := range snap {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := api.CastCid([]byte(e.k))
		if err != nil {
			return err
		}
		if err := fn(c, e.m); err != nil {
			return err
		}
	}
	return nil
}

// RepoStat returns the value set with SetRepoStat (10 GiB free by default).
func (b *Backend) RepoStat(ctx context.Context) (ipfs.RepoStat, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ipfs.RepoStat{}, ipfs.ErrClosed
	}
	return b.repoStat, nil
}

// GC removes nothing.
func (b *Backend) GC(ctx context.Context) ([]api.Cid, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ipfs.ErrClosed
	}
	return nil, nil
}

// HasBlock reports whether a block (from Add or ImportCAR) is stored.
func (b *Backend) HasBlock(c api.Cid) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.blocks[key(c)]
	return ok
}

// Close makes later calls return ipfs.ErrClosed and releases stalled pins.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.ClearFaults()
	return nil
}

// Resolve accepts /ipfs/<cid>, /ipld/<cid> and a bare CID; any path into a DAG is not found (the
// fake stores no DAGs) and IPNS names are not supported.
func (b *Backend) Resolve(ctx context.Context, p string) (api.Cid, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return api.CidUndef, ipfs.ErrClosed
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case len(parts) == 1 && !strings.HasPrefix(p, "/"):
		// a bare CID
	case len(parts) >= 2 && (parts[0] == "ipfs" || parts[0] == "ipld"):
		parts = parts[1:]
	case len(parts) >= 2 && parts[0] == "ipns":
		return api.CidUndef, fmt.Errorf("%w: fake backend: cannot resolve IPNS name %s", api.ErrNotFound, p)
	default:
		return api.CidUndef, fmt.Errorf("%w: %q is not an IPFS path (use /ipfs/<cid>)", api.ErrInvalid, p)
	}
	c, err := api.DecodeCid(parts[0])
	if err != nil {
		return api.CidUndef, fmt.Errorf("%w: %q: bad CID: %v", api.ErrInvalid, p, err)
	}
	if len(parts) > 1 && strings.Join(parts[1:], "") != "" {
		return api.CidUndef, fmt.Errorf("%w: fake backend: cannot resolve %s (no DAGs are stored)", api.ErrNotFound, p)
	}
	return c, nil
}
