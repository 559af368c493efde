package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pincluster/pincluster/offlinestate"
)

// StateCmd groups the offline state commands (run them with the daemon stopped).
type StateCmd struct {
	Export  StateExportCmd  `cmd:"" help:"Write the pinset to a file (JSON lines) or stdout."`
	Import  StateImportCmd  `cmd:"" help:"Replace the pinset with the content of an export file (or stdin)."`
	Cleanup StateCleanupCmd `cmd:"" help:"Remove the peer's state, keeping a backup copy."`
	Upgrade StateUpgradeCmd `cmd:"" help:"Run state format migrations."`
}

// StateImportOptions are the flags of `state import`.
type StateImportOptions struct {
	ReplicationMin, ReplicationMax int
	Allocations                    []string
}

// State entry points (variables so tests can replace them).
var (
	stateExport = func(ctx context.Context, dir string, w io.Writer) error {
		warnHalfImported(dir)
		return offlinestate.Export(ctx, dir, w)
	}
	stateImport = func(ctx context.Context, dir string, r io.Reader, opts StateImportOptions) error {
		allocs, err := parsePeers(opts.Allocations)
		if err != nil {
			return err
		}
		return offlinestate.Import(ctx, dir, r, offlinestate.ImportOptions{ReplicationMin: opts.ReplicationMin, ReplicationMax: opts.ReplicationMax, Allocations: allocs}, os.Stdout)
	}
	stateCleanup = func(ctx context.Context, dir string) error {
		backup, err := offlinestate.Cleanup(dir, os.Stderr)
		if err != nil {
			return err // names the backup when the state was moved
		}
		if backup == "" {
			fmt.Println("no state to clean up in", dir)
		} else {
			fmt.Println("state removed; backup kept in", backup)
		}
		return nil
	}
	stateUpgrade = func(ctx context.Context, dir string) error {
		warnHalfImported(dir)
		return offlinestate.Upgrade(dir, os.Stdout)
	}
)

// warnHalfImported warns on stderr that dir's state holds part of an import (an export of it
// looks like a whole pinset; QA), without refusing: reading it may be what the operator needs.
func warnHalfImported(dir string) {
	if err := offlinestate.CheckImport(dir); err != nil {
		fmt.Fprintln(os.Stderr, "warning:", err)
	}
}

// StateExportCmd is `pincluster state export`.
type StateExportCmd struct {
	File string `name:"file" short:"f" placeholder:"FILE" help:"Write to FILE instead of stdout."`
}

func (c *StateExportCmd) Run(g *Globals) error {
	if c.File == "" {
		return stateExport(g.background(), g.dir(), g.io.Out)
	}
	// Written beside FILE and renamed over it only once the export is whole: an export that
	// fails (the daemon is running, no such peer, a full disk) leaves an earlier FILE, often
	// the last backup, as it was.
	f, err := os.CreateTemp(filepath.Dir(c.File), "."+filepath.Base(c.File)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot create export file: %w", err)
	}
	defer os.Remove(f.Name()) // gone after the rename
	err = stateExport(g.background(), g.dir(), f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing the export file: %w", cerr)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), c.File); err != nil {
		return fmt.Errorf("cannot write export file: %w", err)
	}
	return nil
}

// StateImportCmd is `pincluster state import`.
type StateImportCmd struct {
	File           string   `arg:"" optional:"" placeholder:"FILE" help:"Export file to read (default stdin)."`
	ReplicationMin int      `name:"replication-min" placeholder:"N" help:"Override the minimum replication factor of every imported pin."`
	ReplicationMax int      `name:"replication-max" placeholder:"N" help:"Override the maximum replication factor of every imported pin."`
	Allocations    []string `name:"allocations" sep:"," placeholder:"PEERID,..." help:"Override the allocations of every imported pin."`
}

func (c *StateImportCmd) Run(g *Globals) error {
	if err := checkReplication(c.ReplicationMin, c.ReplicationMax); err != nil {
		return err
	}
	if _, err := parsePeers(c.Allocations); err != nil {
		return err
	}
	var r io.Reader = g.io.In
	if c.File != "" && c.File != "-" {
		f, err := os.Open(c.File)
		if err != nil {
			return fmt.Errorf("cannot open import file: %w", err)
		}
		defer f.Close()
		r = f
	}
	return stateImport(g.background(), g.dir(), r, StateImportOptions{
		ReplicationMin: c.ReplicationMin, ReplicationMax: c.ReplicationMax, Allocations: c.Allocations,
	})
}

// StateCleanupCmd is `pincluster state cleanup`.
type StateCleanupCmd struct {
	Force bool `name:"force" short:"f" help:"Do not ask for confirmation."`
}

func (c *StateCleanupCmd) Run(g *Globals) error {
	if !c.Force {
		fmt.Fprintf(g.io.Err, "This removes the pinset state in %s (a backup copy is kept). Continue? [y/N] ", g.dir())
		line, _ := bufio.NewReader(g.io.In).ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
		default:
			return errors.New("state cleanup aborted: answer y, or pass -f to skip the question")
		}
	}
	return stateCleanup(g.background(), g.dir())
}

// StateUpgradeCmd is `pincluster state upgrade`.
type StateUpgradeCmd struct{}

func (c *StateUpgradeCmd) Run(g *Globals) error { return stateUpgrade(g.background(), g.dir()) }
