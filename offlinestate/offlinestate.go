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

// Version is the pinset store's format version; `state upgrade` migrates older ones. It is the
// store's own constant, so what the upgrade prints is the format the store writes.
const Version = persistence.StoreFormat

// ImportOptions override fields of every imported pin (zero values leave them as exported).
// The replication factors follow POST /pins: one given alone takes the other from the pin,
// adjusted as api.PinOptions.ApplyDefaults adjusts a cluster default (so --replication-min 2
// alone on a pin of -1/-1 makes it 2/2), and the result must pass api.CheckReplication.
type ImportOptions struct {
	ReplicationMin, ReplicationMax int
	Allocations                    []libp2ppeer.ID
}

// flagNames name the replication overrides by the flags of `state import` in errors.
var flagNames = api.FactorNames{Min: "--replication-min", Max: "--replication-max"}

// prepare returns the step that completes each imported pin before it is staged, as POST
// /pins completes a request: factors the line leaves at 0 take the cluster defaults
// (defMin, defMax from service.json), then the overrides apply. An override that cannot
// combine with a pin's other factor (-1 with a positive one) is an error naming the flag.
func (o ImportOptions) prepare(defMin, defMax int) func(*api.Pin) error {
	return func(p *api.Pin) error {
		if p.ReplicationFactorMin == 0 || p.ReplicationFactorMax == 0 {
			p.ApplyDefaults(defMin, defMax)
			// Only a line giving one factor can fail here (-1 meeting a positive default).
			if err := api.CheckReplication(p.ReplicationFactorMin, p.ReplicationFactorMax, api.FactorKeys); err != nil {
				return fmt.Errorf("%w: %w, once the factor the line leaves out takes the cluster default (service.json: %d and %d)", api.ErrInvalid, err, defMin, defMax)
			}
		}
		if o.ReplicationMin != 0 || o.ReplicationMax != 0 {
			r := api.PinOptions{ReplicationFactorMin: o.ReplicationMin, ReplicationFactorMax: o.ReplicationMax}
			// The pin's factors play the cluster defaults' part in ApplyDefaults.
			r.ApplyDefaults(p.ReplicationFactorMin, p.ReplicationFactorMax)
			names := flagNames
			if o.ReplicationMin == 0 {
				names.Min = "the pin's replication_factor_min"
			}
			if o.ReplicationMax == 0 {
				names.Max = "the pin's replication_factor_max"
			}
			if err := api.CheckReplication(r.ReplicationFactorMin, r.ReplicationFactorMax, names); err != nil {
				return fmt.Errorf("%w: %w (give both %s and %s)", api.ErrInvalid, err, flagNames.Min, flagNames.Max)
			}
			p.ReplicationFactorMin, p.ReplicationFactorMax = r.ReplicationFactorMin, r.ReplicationFactorMax
		}
		if len(o.Allocations) > 0 {
			p.Allocations = o.Allocations
		}
		return nil
	}
}

// PinsetDir is where dir's pinset store lives.
func PinsetDir(dir string) string { return filepath.Join(dir, "pinset") }

// openStore opens dir's pinset store with the disk reserve service.json sets
// (datastore.min_free_space). A config that does not load leaves the default reserve: the
// state commands that rescue a peer (export, cleanup, upgrade) must not depend on it; import
// reads the config itself and reports it.
func openStore(dir string) (*persistence.Store, error) {
	var reserve int64
	if cfg, err := servicejson.Load(dir); err == nil {
		reserve = int64(cfg.Datastore.MinFreeSpace)
	}
	return persistence.Open(persistence.Options{Dir: PinsetDir(dir), MinFreeSpace: reserve})
}

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
	s, err := openStore(dir)
	if err != nil {
		return err
	}
	if err := ApplyOwnFloor(dir, s, ident.ID); err != nil {
		return errors.Join(err, s.Close())
	}
	ferr := f(s, ident)
	return errors.Join(ferr, s.Close())
}

// Export writes the pinset as versioned JSON lines.
func Export(ctx context.Context, dir string, w io.Writer) error {
	return withOfflineStore(dir, func(s *persistence.Store, _ identity.Identity) error { return s.Export(ctx, w) })
}

// Import replaces the pinset with the pins of an export file (pincluster's or IPFS
// Cluster's format). Each line is decoded strictly, given the defaults of a pin posted to the
// REST API (the cluster's replication factors from service.json among them), overridden by
// opts and validated as such a pin is (persistence.Store.ImportWith); the whole file is
// checked before anything is written, so a bad line or option changes nothing and the error
// names the line. Imported pins become this peer's ops (broadcast when the daemon starts);
// pins that were not in the file are removed with unpin ops, so other peers converge to the
// imported state too.
func Import(ctx context.Context, dir string, r io.Reader, opts ImportOptions, out io.Writer) error {
	if err := api.CheckReplication(opts.ReplicationMin, opts.ReplicationMax, flagNames); err != nil {
		return fmt.Errorf("%w: %w", api.ErrInvalid, err)
	}
	return withOfflineStore(dir, func(s *persistence.Store, ident identity.Identity) error {
		cfg, err := servicejson.Load(dir)
		if err != nil {
			return fmt.Errorf("reading the cluster's default replication factors: %w", err)
		}
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
			b, _ := api.MarshalPin(&p) // the staged pin, which validation marshalled already
			seq++
			return crdt.Op{Origin: ident.ID, Seq: seq, Clock: clock.Now(), Kind: crdt.OpPin, Cid: p.Cid, PinJSON: b}
		}
		prepare := opts.prepare(cfg.Cluster.ReplicationFactorMin, cfg.Cluster.ReplicationFactorMax)
		if err := markImport(dir); err != nil { // importmark.go
			return err
		}
		n, err := s.ImportWith(ctx, r, prepare, mkOp)
		if err != nil {
			if seq == last { // refused before any op was made (a bad line): nothing written
				return errors.Join(err, unmarkImport(dir))
			}
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
		if err := unmarkImport(dir); err != nil {
			return err
		}
		if out != nil {
			fmt.Fprintf(out, "imported %d pins into %s\n", n, dir)
		}
		return nil
	})
}

// Cleanup moves the pinset state to <dir>/backups/pinset-<time> (a complete copy that
// `mv` restores) and leaves an empty state. It returns the backup path; warnings go to warn.
func Cleanup(dir string, warn io.Writer) (string, error) {
	if !servicejson.Exists(dir) {
		return "", fmt.Errorf("%s is not initialized", dir)
	}
	lock, err := dirlock.Take(dir)
	if err != nil {
		return "", fmt.Errorf("%w (stop the daemon before cleaning its state)", err)
	}
	defer lock.Unlock()
	backup, err := Backup(dir, true, warn)
	if backup != "" {
		// A fresh state: an import left unfinished in the old one no longer matters.
		err = errors.Join(err, unmarkImport(dir))
	}
	return backup, err
}

// Backup renames the pinset folder into backups/ (the caller holds the lock); "" when there is
// no state. With keepHistory it first records how far this peer's own ops went (ownfloor.go),
// so that the next state of this peer (a new one, an import, an older backup moved back)
// numbers its ops after them; a state that cannot be read (a reason to clean it) is moved all
// the same, but one whose floor cannot be written is not moved (its next state would number
// its ops under the others' copies of the old ones). A removed peer's identity never comes
// back (removed.go): it keeps no history. warn (nil: none) is told of own ops the state holds
// that were never broadcast.
func Backup(dir string, keepHistory bool, warn io.Writer) (string, error) {
	src := PinsetDir(dir)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	var ferr error
	if keepHistory {
		unsent, err := recordOwnFloor(dir)
		if err != nil && !errors.As(err, new(errUnreadable)) {
			return "", fmt.Errorf("state left in place: %w", err)
		}
		ferr = err
		switch {
		case unsent == 0 || warn == nil:
		case CheckImport(dir) != nil: // an unfinished import's ops: not to be sent
			fmt.Fprintf(warn, "note: the state held %d ops of an unfinished import, never broadcast; the backup holds them (do not move it back: it is half imported)\n", unsent)
		default:
			fmt.Fprintf(warn, "warning: this peer's last %d ops were not broadcast and may not have reached the other peers; the backup holds them (start the daemon once to send them, then clean up again)\n", unsent)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "backups"), 0o700); err != nil {
		return "", err
	}
	// Two backups within one second (a cleanup, an import, a cleanup) take the next free
	// suffix: the name is for people, and a clash must not fail the cleanup.
	base := filepath.Join(dir, "backups", "pinset-"+time.Now().UTC().Format("20060102T150405Z"))
	dst := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(src, dst); err != nil {
		return "", fmt.Errorf("moving the state to a backup: %w", err)
	}
	if ferr != nil {
		return dst, fmt.Errorf("state moved to %s, but this peer's last op number could not be read from it, so its next state numbers its ops from 1 and the other peers may drop them (docs/deploy.md): %w", dst, ferr)
	}
	return dst, nil
}

func Upgrade(dir string, out io.Writer) error {
	return withOfflineStore(dir, func(s *persistence.Store, _ identity.Identity) error { return migrate(s, out) })
}

// UpgradeLocked is Upgrade for a caller that holds dir's lock (daemon --upgrade).
func UpgradeLocked(dir string, out io.Writer) error {
	s, err := openStore(dir)
	if err != nil {
		return err
	}
	return errors.Join(migrate(s, out), s.Close())
}

// migrate brings a store of an earlier version up to date. Opening it did most of that: a store
// of format 1 to 3 is valid in the current format as it is and was marked so
// (persistence.StoreFormat); a store written before the name and metadata indexes, or with an
// older index layout, needs them built here.
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
	fmt.Fprintf(out, "state format is current (format %d, %d pins)\n", Version, n)
	return nil
}
