package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/pincluster/pincluster/api/client"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/dirlock"
)

// DefaultCallTimeout bounds simple (non-streaming) API calls when --timeout is not given.
const DefaultCallTimeout = 60 * time.Second

// Globals are the flags every command takes.
type Globals struct {
	Config    string        `name:"config" env:"PINCLUSTER_PATH" placeholder:"DIR" help:"Configuration directory (default ~/.pincluster)."`
	Host      []string      `name:"host" sep:"," placeholder:"MADDR" help:"REST API multiaddr(s), comma separated, tried in order (default: the running daemon's, from <config>/api; without --config or PINCLUSTER_PATH and no daemon in ~/.pincluster, /ip4/127.0.0.1/tcp/9094)."`
	Enc       string        `name:"enc" enum:"text,json" default:"text" help:"Output format: text or json (one JSON object per line)."`
	Timeout   time.Duration `name:"timeout" help:"Time limit for each API request (default 60s for simple calls, none for streamed lists)."`
	BasicAuth string        `name:"basic-auth" env:"CLUSTER_CREDENTIALS" placeholder:"USER:PW" help:"Credentials for the REST API."`
	HTTPS     bool          `name:"https" help:"Use https to reach the REST API."`
	Debug     bool          `name:"debug" help:"Log debug information on stderr."`

	// BearerToken is --token; it replaces basic auth on every call but POST /token.
	BearerToken string `name:"token" env:"PINCLUSTER_TOKEN" placeholder:"JWT" help:"Bearer token for the REST API (from pincluster token); used instead of --basic-auth."`

	io      IO
	baseCtx context.Context
}

// dir is the configuration directory.
func (g *Globals) dir() string { return config.ResolveDir(g.Config) }

// hosts says which daemon the client talks to (the package doc, "Finding the daemon", says why):
// --host; else the address in the config directory's api file, written by its running daemon;
// else, only when no directory was named (--config, $PINCLUSTER_PATH) and ~/.pincluster holds
// no peer, the default address. Anything else is ErrNoDaemon: falling back to the default
// address would reach whatever daemon listens there, not the one the directory belongs to.
func (g *Globals) hosts() ([]string, error) {
	if len(g.Host) > 0 {
		return g.Host, nil
	}
	dir := g.dir()
	named := g.Config != "" // kong fills it from --config or $PINCLUSTER_PATH
	hs, err := readAPIFile(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !named && !fileExists(filepath.Join(dir, config.ConfigFile)):
		return []string{defaultHost}, nil // a client-only machine, as with ipfs-cluster-ctl
	case errors.Is(err, fs.ErrNotExist):
		return nil, noDaemon(dir, named, "no api file")
	case err != nil:
		return nil, fmt.Errorf("cannot read the daemon's address from %s: %v; pass --host", filepath.Join(dir, config.APIFile), err)
	case len(hs) == 0:
		return nil, noDaemon(dir, named, "empty api file")
	}
	// The api file outlives a daemon that was killed (SIGKILL, power loss); its address may now
	// be another process's. The daemon's lock, which the kernel drops with the process, says.
	running, err := dirlock.DaemonRunning(dir)
	if err != nil {
		return nil, fmt.Errorf("%v; pass --host", err)
	}
	if !running {
		return nil, noDaemon(dir, named, "stale api file: the daemon that wrote it is not running")
	}
	return hs, nil
}

// readAPIFile returns the addresses in dir's api file (one multiaddr, or several separated by
// commas or white space).
func readAPIFile(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, config.APIFile))
	if err != nil {
		return nil, err
	}
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == ',' || unicode.IsSpace(r) }), nil
}

// fileExists is false only when path surely does not exist.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// noDaemon is the error of a client command whose config directory has no running daemon.
func noDaemon(dir string, named bool, why string) error {
	start := "pincluster daemon"
	if named {
		start = "pincluster --config " + dir + " daemon"
	}
	return fmt.Errorf("%w for %s (%s); start it with '%s' or pass --host", ErrNoDaemon, dir, why, start)
}

// ErrNoDaemon: the config directory has no running daemon to talk to.
var ErrNoDaemon = errors.New("no daemon running")

// defaultHost is a variable so tests never reach a daemon on the default port (a user's).
var defaultHost = client.DefaultHost

// client builds the REST client from the global flags.
func (g *Globals) client() (*client.Client, error) {
	hosts, err := g.hosts()
	if err != nil {
		return nil, err
	}
	cfg := client.Config{Hosts: hosts, HTTPS: g.HTTPS, Token: strings.TrimSpace(g.BearerToken)}
	if g.BasicAuth != "" {
		u, p, ok := strings.Cut(g.BasicAuth, ":")
		if !ok || u == "" {
			return nil, fmt.Errorf("--basic-auth must be USER:PASSWORD")
		}
		cfg.Username, cfg.Password = u, p
	}
	if g.Debug {
		g.logger().Debug("api client", "hosts", cfg.Hosts, "https", cfg.HTTPS, "basic_auth", cfg.Username != "", "token", cfg.Token != "")
	}
	return client.New(cfg)
}

func (g *Globals) logger() *slog.Logger {
	level := slog.LevelInfo
	if g.Debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.io.Err, &slog.HandlerOptions{Level: level}))
}

// ctx returns the context of one API call: --timeout when given, else DefaultCallTimeout for
// simple calls and no limit for streams.
func (g *Globals) ctx(stream bool) (context.Context, context.CancelFunc) {
	base := g.baseCtx
	if base == nil {
		base = context.Background()
	}
	switch {
	case g.Timeout > 0:
		return context.WithTimeout(base, g.Timeout)
	case !stream:
		return context.WithTimeout(base, DefaultCallTimeout)
	}
	return context.WithCancel(base)
}

func (g *Globals) json() bool { return g.Enc == "json" }

// printJSON writes v as one line of JSON.
func (g *Globals) printJSON(v any) error {
	return json.NewEncoder(g.io.Out).Encode(v)
}

func (g *Globals) printf(format string, args ...any) {
	fmt.Fprintf(g.io.Out, format, args...)
}

// background is the base context without a time limit (service commands).
func (g *Globals) background() context.Context {
	if g.baseCtx == nil {
		return context.Background()
	}
	return g.baseCtx
}
