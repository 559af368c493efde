package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/config/servicejson"
	"github.com/pincluster/pincluster/internal/atomicfile"
	"github.com/pincluster/pincluster/internal/dirlock"
	"github.com/pincluster/pincluster/internal/identity"
	"github.com/pincluster/pincluster/internal/logdedup"
	"github.com/pincluster/pincluster/internal/profiler"
	"github.com/pincluster/pincluster/offlinestate"
)

// InitOptions are the flags of `pincluster init`.
type InitOptions struct {
	Peers       []string // --peers: multiaddrs written to the peerstore file
	RandomPorts bool     // --randomports: pick free ports for every listener
	Force       bool     // -f: overwrite an existing config and identity
	Out         io.Writer
}

// DaemonOptions are the flags of `pincluster daemon`.
type DaemonOptions struct {
	Bootstrap []string // --bootstrap multiaddrs
	Upgrade   bool     // --upgrade: run state migrations before starting
	Stats     bool     // --stats: serve Prometheus metrics (observations.metrics.enable_stats)
	// Follower runs the peer as a follower whatever its file says (`follow NAME run`), and
	// refuses to create a configuration: a follower is set up by follow.Write.
	Follower bool
	Out      io.Writer
	Logger   *slog.Logger
	// Hooks carries the peer's fault-injection options (ConnGater, OnHost, ClockSource,
	// WrapBackend, StoreWriteFault; see internal/faults); RunDaemon sets the other fields.
	Hooks Options
}

// defaultMemoryLimit is the daemon's soft Go heap limit unless GOMEMLIMIT is set.
const defaultMemoryLimit = 768 << 20

// defaultGCPercent is the daemon's GOGC unless the variable is set.
const defaultGCPercent = 50

// PeerstoreFile lists known peers' multiaddrs, one per line.
const PeerstoreFile = "peerstore"

// Init writes a default config (service.json) and identity (identity.json) in dir. The secret
// comes from CLUSTER_SECRET (or PINCLUSTER_SECRET) when set, so several peers can be initialised
// for one cluster; any other key can be set the same way. It holds dir's lock while it writes,
// so it fails (dirlock.ErrLocked), even with Force, while a daemon runs on dir: replacing the
// identity and config under a running peer would split what it runs from what it reads next.
// Every address of opts.Peers must be a multiaddress ending in /p2p/<peer ID> (CheckPeerAddr);
// otherwise Init writes nothing.
func Init(dir string, opts InitOptions) error {
	peers, err := checkPeerAddrs("--peers", opts.Peers)
	if err != nil {
		return err
	}
	opts.Peers = peers
	// created: this call made dir (Mkdir of the last element; "exists" for a dir that was
	// there, whatever path names it, and for the loser of two inits racing on a new dir).
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	mkErr := os.Mkdir(dir, 0o700)
	if mkErr != nil && !errors.Is(mkErr, fs.ErrExist) {
		return fmt.Errorf("cannot create %s: %w", dir, mkErr)
	}
	created := mkErr == nil
	lock, err := dirlock.Take(dir)
	if err != nil {
		var le *dirlock.LockedError
		if errors.As(err, &le) {
			return &dirlock.LockedError{Msg: fmt.Sprintf("cannot initialize %s: a pincluster daemon is running on it%s; stop it first (init would replace the identity and configuration it uses)", dir, le.Holder)}
		}
		return err
	}
	err = initLocked(dir, opts)
	lock.Unlock()
	if err != nil && created {
		// A failed init (a bad value from the environment, before anything is written) leaves
		// nothing behind, not even the directory and its lock file (QA). Nothing recursive:
		// a directory holding anything else stays.
		os.Remove(filepath.Join(dir, config.LockFile))
		os.Remove(dir)
	}
	return err
}

// initLocked is Init for a caller that holds dir's lock (RunDaemon on a fresh dir).
func initLocked(dir string, opts InitOptions) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if servicejson.Exists(dir) && !opts.Force {
		return fmt.Errorf("%s is already initialized (service.json exists): use -f to overwrite it", dir)
	}
	cfg := servicejson.Default()
	if opts.RandomPorts {
		if err := cfg.RandomizePorts(dir); err != nil {
			return err
		}
	}
	if err := cfg.ApplyEnvAndValidate(""); err != nil {
		return err
	}
	ident, err := identity.New()
	if err != nil {
		return err
	}
	if err := cfg.Save(dir); err != nil {
		return err
	}
	if err := ident.Save(dir); err != nil {
		return err
	}
	if len(opts.Peers) > 0 {
		if err := atomicfile.Write(filepath.Join(dir, PeerstoreFile), []byte(strings.Join(opts.Peers, "\n")+"\n"), 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "initialized pincluster peer %s in %s\n", ident.ID, dir)
	fmt.Fprintf(out, "  REST API: %s\n  IPFS proxy: %s\n  pinning service API: %s\n  cluster:  %s\n", cfg.API.RestAPI.ListenMultiaddress, cfg.API.IPFSProxy.ListenMultiaddress, cfg.API.PinSvcAPI.ListenMultiaddress, strings.Join(cfg.Cluster.ListenMultiaddress, ", "))
	return nil
}

// RunDaemon creates config and identity in dir when missing, starts the peer and blocks until
// ctx is cancelled (SIGINT/SIGTERM), then shuts down cleanly.
func RunDaemon(ctx context.Context, dir string, opts DaemonOptions) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = slog.New(logdedup.New(log.Handler())) // a failing part must not flood the log
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A ceiling on the heap, not a target: the GC stays paced by GOGC below it, and
		// actors/memtrim returns freed heap after bursts. A lower limit made the GC run 15
		// times as often during a 1M-pin ingest (300 MiB: half the pins/s); GOMEMLIMIT
		// overrides it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		// The heap's growth past the live bytes is mostly short-lived Badger buffers
		// (memtable arenas, table builders) and gossip messages, and every page it grows by is
		// a page fault: at GOGC 50 three peers ingesting 200k pins peaked at 270-300 MB of RSS
		// instead of 325-430 MB and used no more CPU (1,554-1,629 ticks against 1,588-1,768);
		// a lone peer's 1M-pin ingest and single POSTs were as fast. GOGC overrides it.
		debug.SetGCPercent(defaultGCPercent)
	}
	lock, err := dirlock.Take(dir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if addr := os.Getenv("PINCLUSTER_PPROF"); addr != "" {
		profiler.Start(addr, log)
	}
	if !servicejson.Exists(dir) {
		if opts.Follower {
			return fmt.Errorf("%s holds no follower configuration: run `pincluster follow NAME init` first", dir)
		}
		if err := initLocked(dir, InitOptions{Out: out}); err != nil {
			return err
		}
	}
	cfg, err := servicejson.Load(dir)
	if err != nil {
		return err
	}
	cfg.Observations.Metrics.EnableStats = cfg.Observations.Metrics.EnableStats || opts.Stats
	cfg.Cluster.FollowerMode = cfg.Cluster.FollowerMode || opts.Follower
	ident, err := identity.Load(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if ident, err = identity.New(); err == nil {
			err = ident.Save(dir)
		}
	}
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := offlinestate.CheckRemoved(dir, ident.ID); err != nil {
		return err
	}
	if err := offlinestate.CheckImport(dir); err != nil {
		return err
	}
	if opts.Upgrade {
		if err := offlinestate.UpgradeLocked(dir, out); err != nil {
			return fmt.Errorf("upgrading the state: %w", err)
		}
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	popts := opts.Hooks
	popts.Logger, popts.Bootstrap, popts.Leave = log, opts.Bootstrap, stop
	p, err := New(ctx, dir, cfg, ident, popts)
	if err != nil {
		return err
	}
	apiFile := filepath.Join(dir, config.APIFile)
	if err := atomicfile.Write(apiFile, []byte(p.RESTAddr()+"\n"), 0o644); err != nil {
		p.Close()
		return err
	}
	if err := p.startMemTrim(); err != nil {
		p.Close()
		return err
	}
	if err := p.notifyReady(); err != nil {
		p.Close()
		return err
	}
	fmt.Fprintf(out, "pincluster peer %s (%s) is ready\n  REST API: %s\n", ident.ID, cfg.Cluster.Peername, p.RESTAddr())
	for _, a := range p.host.Addrs() {
		fmt.Fprintf(out, "  cluster:  %s/p2p/%s\n", a, ident.ID)
	}
	<-ctx.Done()
	p.notifyStopping()
	fmt.Fprintln(out, "shutting down...")
	os.Remove(apiFile)
	p.leaveOnShutdown()
	err = p.Close()
	if p.Left() {
		// Removed from the cluster (peers rm): clean the state, keeping a backup, as IPFS
		// Cluster does. The peerstore goes too, so a restart does not rejoin by itself.
		backup, berr := offlinestate.Backup(dir, false, nil)
		os.Remove(filepath.Join(dir, PeerstoreFile))
		if merr := offlinestate.MarkRemoved(dir, ident.ID, backup); merr != nil {
			err = errors.Join(err, fmt.Errorf("marking the removal: %w", merr))
		}
		if berr != nil {
			return errors.Join(err, berr)
		}
		fmt.Fprintf(out, "this peer was removed from the cluster; its state was moved to %s\n", backup)
	}
	fmt.Fprintln(out, "stopped")
	return err
}
