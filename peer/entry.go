package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/pincluster/pincluster/config"
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
	Out       io.Writer
	Logger    *slog.Logger
	// Hooks carries the peer's fault-injection options (ConnGater, OnHost, ClockSource,
	// WrapBackend, StoreWriteFault; see internal/faults); RunDaemon sets the other fields.
	Hooks Options
}

// defaultMemoryLimit is the daemon's soft Go heap limit unless GOMEMLIMIT is set.
const defaultMemoryLimit = 768 << 20

// PeerstoreFile lists known peers' multiaddrs, one per line.
const PeerstoreFile = "peerstore"

// Init writes a default config (service.json) and identity (identity.json) in dir. The secret
// comes from CLUSTER_SECRET (or PINCLUSTER_SECRET) when set, so several peers can be initialised
// for one cluster; any other key can be set the same way. It holds dir's lock while it writes,
// so it fails (ErrDirLocked), even with Force, while a daemon runs on dir: replacing the
// identity and config under a running peer would split what it runs from what it reads next.
func Init(dir string, opts InitOptions) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		var le *lockedError
		if errors.As(err, &le) {
			return &lockedError{msg: fmt.Sprintf("cannot initialize %s: a pincluster daemon is running on it%s; stop it first (init would replace the identity and configuration it uses)", dir, le.holder)}
		}
		return err
	}
	defer lock.unlock()
	return initLocked(dir, opts)
}

// initLocked is Init for a caller that holds dir's lock (RunDaemon on a fresh dir).
func initLocked(dir string, opts InitOptions) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if configExists(dir) && !opts.Force {
		return fmt.Errorf("%s is already initialized (service.json exists): use -f to overwrite it", dir)
	}
	cfg := DefaultConfig()
	if opts.RandomPorts {
		ports, err := freePorts(4)
		if err != nil {
			return err
		}
		cfg.Cluster.ListenMultiaddress = []string{fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", ports[0])}
		cfg.API.RestAPI.ListenMultiaddress = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ports[1])
		cfg.API.IPFSProxy.ListenMultiaddress = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ports[2])
		cfg.API.PinSvcAPI.ListenMultiaddress = fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", ports[3])
	}
	if err := cfg.ApplyEnv(); err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ident, err := NewIdentity()
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
		if err := writeFileAtomic(filepath.Join(dir, PeerstoreFile), []byte(strings.Join(opts.Peers, "\n")+"\n"), 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "initialized pincluster peer %s in %s\n", ident.ID, dir)
	fmt.Fprintf(out, "  REST API: %s\n  IPFS proxy: %s\n  pinning service API: %s\n  cluster:  %s\n", cfg.API.RestAPI.ListenMultiaddress, cfg.API.IPFSProxy.ListenMultiaddress, cfg.API.PinSvcAPI.ListenMultiaddress, strings.Join(cfg.Cluster.ListenMultiaddress, ", "))
	return nil
}

// freePorts asks the kernel for n distinct free TCP ports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("picking a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
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
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A soft heap target keeps RSS bounded as the pinset grows (Badger's caches and the
		// tracker's queue are what grow); GOMEMLIMIT overrides it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return err
	}
	defer lock.unlock()
	if addr := os.Getenv("PINCLUSTER_PPROF"); addr != "" {
		startPprof(addr, log)
	}
	if !configExists(dir) {
		if err := initLocked(dir, InitOptions{Out: out}); err != nil {
			return err
		}
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return err
	}
	ident, err := LoadIdentity(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if ident, err = NewIdentity(); err == nil {
			err = ident.Save(dir)
		}
	}
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if opts.Upgrade {
		fmt.Fprintf(out, "state format is version %d: no migration needed\n", StateVersion)
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
	if err := writeFileAtomic(apiFile, []byte(p.RESTAddr()+"\n"), 0o644); err != nil {
		p.Close()
		return err
	}
	fmt.Fprintf(out, "pincluster peer %s (%s) is ready\n  REST API: %s\n", ident.ID, cfg.Cluster.Peername, p.RESTAddr())
	for _, a := range p.host.Addrs() {
		fmt.Fprintf(out, "  cluster:  %s/p2p/%s\n", a, ident.ID)
	}
	<-ctx.Done()
	fmt.Fprintln(out, "shutting down...")
	os.Remove(apiFile)
	err = p.Close()
	if p.Left() {
		// Removed from the cluster (peers rm): clean the state, keeping a backup, as IPFS
		// Cluster does. The peerstore goes too, so a restart does not rejoin by itself.
		backup, berr := backupState(dir)
		os.Remove(filepath.Join(dir, PeerstoreFile))
		if berr != nil {
			return errors.Join(err, berr)
		}
		fmt.Fprintf(out, "this peer was removed from the cluster; its state was moved to %s\n", backup)
	}
	fmt.Fprintln(out, "stopped")
	return err
}
