package faults

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Errors the injected faults return.
var (
	// ErrDiskFull is what pinset store writes return while disk_full is set; it wraps
	// syscall.ENOSPC, as a real full disk would.
	ErrDiskFull = fmt.Errorf("faults: injected disk full (%s): %w", EnvVar, syscall.ENOSPC)
	// ErrIPFS is what IPFS Pin and Unpin return while ipfs_fail is set.
	ErrIPFS = errors.New("faults: injected IPFS failure (" + EnvVar + ")")
)

// Faults is the fault state of one daemon, reloaded from its file on SIGUSR1. Its methods are
// safe for concurrent use; the hot paths (Now, StoreWriteFault, the gater) read one atomic
// pointer.
type Faults struct {
	path  string
	log   *slog.Logger
	state atomic.Pointer[state]

	mu   sync.Mutex
	host host.Host // set by Attach; connections to blocked peers are closed on reload
}

// state is one loaded Config with its peer IDs decoded.
type state struct {
	cfg     Config
	blocked map[peer.ID]bool
}

// FromEnv opens the fault file named by PINCLUSTER_FAULTS, or returns nil, nil when the
// variable is unset.
func FromEnv(ctx context.Context, log *slog.Logger) (*Faults, error) {
	path := os.Getenv(EnvVar)
	if path == "" {
		return nil, nil
	}
	return Open(ctx, path, log)
}

// Open loads the fault file at path and reloads it on every SIGUSR1 until ctx ends (one
// goroutine waiting on the signal channel).
func Open(ctx context.Context, path string, log *slog.Logger) (*Faults, error) {
	if log == nil {
		log = slog.Default()
	}
	f := &Faults{path: path, log: log}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				if err := f.Reload(); err != nil {
					f.log.Error("faults: reload failed; keeping the previous faults", "err", err)
				}
			}
		}
	}()
	return f, nil
}

// Reload reads the file again and applies it: connections to newly blocked peers are closed.
func (f *Faults) Reload() error {
	c, err := Load(f.path)
	if err != nil {
		return err
	}
	st := &state{cfg: c, blocked: make(map[peer.ID]bool, len(c.BlockPeers))}
	for _, s := range c.BlockPeers {
		id, err := peer.Decode(s)
		if err != nil {
			return fmt.Errorf("faults: %s: block_peers: %q is not a peer ID: %w", f.path, s, err)
		}
		st.blocked[id] = true
	}
	f.state.Store(st)
	f.log.Warn("faults: loaded", "file", f.path, "blocked_peers", len(st.blocked),
		"clock_skew", c.ClockSkew.D(), "disk_full", c.DiskFull, "ipfs_delay", c.IPFSDelay.D(), "ipfs_fail", c.IPFSFail)
	f.closeBlocked()
	return nil
}

// Current returns the faults in force.
func (f *Faults) Current() Config { return f.state.Load().cfg }

// Attach hands the daemon's libp2p host over, so a reload can close connections to peers it
// starts blocking.
func (f *Faults) Attach(h host.Host) {
	f.mu.Lock()
	f.host = h
	f.mu.Unlock()
	f.closeBlocked()
}

func (f *Faults) closeBlocked() {
	f.mu.Lock()
	h := f.host
	f.mu.Unlock()
	if h == nil {
		return
	}
	for id := range f.state.Load().blocked {
		_ = h.Network().ClosePeer(id)
	}
}

func (f *Faults) blocked(id peer.ID) bool { return f.state.Load().blocked[id] }

// Now is the hybrid logical clock's time source: the wall clock plus clock_skew.
func (f *Faults) Now() time.Time { return time.Now().Add(f.state.Load().cfg.ClockSkew.D()) }

// StoreWriteFault is checked before every pinset store write: ErrDiskFull while disk_full is
// set, else nil.
func (f *Faults) StoreWriteFault() error {
	if f.state.Load().cfg.DiskFull {
		return ErrDiskFull
	}
	return nil
}
