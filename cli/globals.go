package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pincluster/pincluster/api/client"
	"github.com/pincluster/pincluster/config"
)

// DefaultCallTimeout bounds simple (non-streaming) API calls when --timeout is not given.
const DefaultCallTimeout = 60 * time.Second

// Globals are the flags every command takes.
type Globals struct {
	Config    string        `name:"config" env:"PINCLUSTER_PATH" placeholder:"DIR" help:"Configuration directory (default ~/.pincluster)."`
	Host      []string      `name:"host" sep:"," placeholder:"MADDR" help:"REST API multiaddr(s), comma separated, tried in order (default: the running daemon's, from <config>/api, else /ip4/127.0.0.1/tcp/9094)."`
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

// hosts are --host, else the address in <config>/api, else the default.
func (g *Globals) hosts() []string {
	if len(g.Host) > 0 {
		return g.Host
	}
	b, err := os.ReadFile(filepath.Join(g.dir(), config.APIFile))
	if err == nil {
		var hs []string
		for _, f := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ' ' }) {
			hs = append(hs, f)
		}
		if len(hs) > 0 {
			return hs
		}
	}
	return []string{client.DefaultHost}
}

// client builds the REST client from the global flags.
func (g *Globals) client() (*client.Client, error) {
	cfg := client.Config{Hosts: g.hosts(), HTTPS: g.HTTPS, Token: strings.TrimSpace(g.BearerToken)}
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
