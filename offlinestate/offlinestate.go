// Package offlinestate runs the state commands (`pincluster state export|import|cleanup|upgrade`)
// on a config directory with no daemon running: each takes the directory's lock and opens the
// pinset store itself. It is apart from peer because none of it needs a running peer; the
// daemon only uses Backup (a removed peer's state) and Version.
package offlinestate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/dirlock"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/persistence"
)

// Version is the pinset store's format version; `state upgrade` migrates older ones.
const Version = 1

// ImportOptions override fields of every imported pin (zero values leave them as exported).
type ImportOptions struct {
	ReplicationMin, ReplicationMax int
	Allocations                    []libp2ppeer.ID
}

// PinsetDir is where dir's pinset store lives.
func PinsetDir(dir string) string { return filepath.Join(dir, "pinset") }

// withOfflineStore locks dir and opens its pinset store for f.
func withOfflineStore(dir string, f func(s *persistence.Store, ident identity.Identity) error) error {
	if !servicejson.Exists(dir) {
		return fmt.Errorf("%s is not initialized (run pincluster init)", dir)
	}
	lock, err := dirlock.Take(dir)
	if err != nil {
		return fmt.Errorf("%w (stop the daemon before running state commands)", err)
	}
	defer lock.Unlock()
	ident, err := identity.Load(dir)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	s, err := persistence.Open(persistence.Options{Dir: PinsetDir(dir)})
	if err != nil {
		return err
	}
	ferr := f(s, ident)
	return errors.Join(ferr, s.Close())
}

// Export writes the pinset as versioned JSON lines.
func Export(ctx context.Context, dir string, w io.Writer) error {
	return withOfflineStore(dir, func(s *persistence.Store, _ identity.Identity) error { return s.Export(ctx, w) })
}

// Import replaces the pinset with the pins of an export file (pincluster's or IPFS
// Cluster's format). The file is validated first, each pin against api's name and metadata
// limits too: a bad file changes nothing. Imported pins become this peer's ops (broadcast when
// the daemon starts); pins that were not in the file are removed with unpin ops, so other peers
// converge to the imported state too. It returns the number of pins imported.
func Import(ctx context.Context, dir string, r io.Reader, opts ImportOptions, out io.Writer) error {
	return withOfflineStore(dir, func(s *persistence.Store, ident identity.Identity) error {
		last, err := s.LastSeq(ident.ID)
		if err != nil {
			return err
		}
		maxClock, err := s.MaxClock()
		if err != nil {
			return err
		}
		clock := crdt.NewClock(nil)
		clock.Observe(maxClock)
		start := clock.Now()
		seq := last
		mkOp := func(p api.Pin) crdt.Op {
			if opts.ReplicationMin != 0 {
				p.ReplicationFactorMin = opts.ReplicationMin
			}
			if opts.ReplicationMax != 0 {
				p.ReplicationFactorMax = opts.ReplicationMax
			}
			if len(opts.Allocations) > 0 {
				p.Allocations = opts.Allocations
			}
			if p.Type == "" {
				p.Type = api.PinTypeData
			}
			if p.Allocations == nil {
				p.Allocations = []libp2ppeer.ID{}
			}
			b, _ := api.MarshalPin(&p)
			seq++
			return crdt.Op{Origin: ident.ID, Seq: seq, Clock: clock.Now(), Kind: crdt.OpPin, Cid: p.Cid, PinJSON: b}
		}
		n, err := s.Import(ctx, r, mkOp)
		if err != nil {
			return err
		}
		// Unpin what the file did not hold: every live record older than the import.
		var stale []crdt.Op
		flush := func() error {
			if len(stale) == 0 {
				return nil
			}
			_, err := s.Apply(stale)
			stale = stale[:0]
			return err
		}
		err = s.IterateRecords(ctx, func(rec persistence.Record) error {
			if rec.Deleted || rec.Op.Clock >= start {
				return nil
			}
			seq++
			stale = append(stale, crdt.Op{Origin: ident.ID, Seq: seq, Clock: clock.Now(), Kind: crdt.OpUnpin, Cid: rec.Op.Cid})
			if len(stale) >= 1024 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return err
		}
		if out != nil {
			fmt.Fprintf(out, "imported %d pins into %s\n", n, dir)
		}
		return nil
	})
}

// Cleanup moves the pinset state to <dir>/backups/pinset-<time> (a complete copy that
// `mv` restores) and leaves an empty state. It returns the backup path.
func Cleanup(dir string) (string, error) {
	if !servicejson.Exists(dir) {
		return "", fmt.Errorf("%s is not initialized", dir)
	}
	lock, err := dirlock.Take(dir)
	if err != nil {
		return "", fmt.Errorf("%w (stop the daemon before cleaning its state)", err)
	}
	defer lock.Unlock()
	return Backup(dir)
}

// Backup renames the pinset folder into backups/ (the caller holds the lock); "" when there is
// no state.
func Backup(dir string) (string, error) {
	src := PinsetDir(dir)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "backups"), 0o700); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "backups", "pinset-"+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Rename(src, dst); err != nil {
		return "", fmt.Errorf("moving the state to a backup: %w", err)
	}
	return dst, nil
}

func Upgrade(dir string, out io.Writer) error {
	return withOfflineStore(dir, func(s *persistence.Store, _ identity.Identity) error { return migrate(s, out) })
}

// UpgradeLocked is Upgrade for a caller that holds dir's lock (daemon --upgrade).
func UpgradeLocked(dir string, out io.Writer) error {
	s, err := persistence.Open(persistence.Options{Dir: PinsetDir(dir)})
	if err != nil {
		return err
	}
	return errors.Join(migrate(s, out), s.Close())
}

// migrate brings a store of an earlier version up to date: the layout of version 1 is
// unchanged, but stores written before the name and metadata indexes need them built.
func migrate(s *persistence.Store, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	n, err := s.CountPins()
	if err != nil {
		return err
	}
	if !s.Indexed() {
		named, err := s.RebuildIndexes(context.Background())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "built the name and metadata indexes of %d pins (%d with a name or metadata)\n", n, named)
	}
	fmt.Fprintf(out, "state format is current (version %d, %d pins)\n", Version, n)
	return nil
}
