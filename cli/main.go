package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"github.com/pincluster/pincluster/api"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitLocal   = 1  // local problem or usage error
	ExitAPI     = 2  // the API answered with an error
	ExitTimeout = 62 // a deadline (--timeout, --wait-timeout) passed
	// ExitInterrupted: a batch ingest stopped by ^C (or SIGTERM) after saying how far it got.
	ExitInterrupted = 130
)

// CLI is the whole command tree.
type CLI struct {
	Globals

	Init   InitCmd   `cmd:"" help:"Write a default configuration and identity in the config directory."`
	Daemon DaemonCmd `cmd:"" help:"Run a cluster peer (creates the configuration on first run)."`
	State  StateCmd  `cmd:"" help:"Export, import, clean up or upgrade the peer's pinset state (daemon stopped)."`

	ID      IDCmd      `cmd:"" name:"id" help:"Show the identity of the peer the client talks to."`
	Version VersionCmd `cmd:"" help:"Show the cluster peer's version."`
	Peers   PeersCmd   `cmd:"" help:"List or remove cluster peers."`
	Add     AddCmd     `cmd:"" help:"Add files or directories to IPFS and pin them in the cluster."`
	Pin     PinCmd     `cmd:"" help:"Pin, unpin, update and list items of the cluster pinset."`
	Status  StatusCmd  `cmd:"" help:"Show the status of pins on each allocated peer."`
	Recover RecoverCmd `cmd:"" help:"Retry pins and unpins in error."`
	Health  HealthCmd  `cmd:"" help:"Cluster health: peer graph, metrics and alerts."`
	IPFS    IPFSCmd    `cmd:"" name:"ipfs" help:"Operations on the IPFS nodes behind the peers."`
	Token   TokenCmd   `cmd:"" name:"token" help:"Bearer tokens for the REST API: print a new one (needs --basic-auth; use it with --token or PINCLUSTER_TOKEN), list them (token ls), revoke one (token revoke ID)."`
	Follow  FollowCmd  `cmd:"" help:"Set up, run and inspect follower peers (follower_mode), as ipfs-cluster-follow: follow list, follow NAME init|run|info|list."`
}

// Main runs the command line with args (os.Args[1:]) on the process's stdio and returns the exit
// code.
func Main(args []string) int {
	tty := term.IsTerminal(int(os.Stderr.Fd()))
	return Run(context.Background(), args, IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, TTY: tty})
}

// IO is where a command reads and writes. TTY enables progress bars on Err.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	TTY      bool
}

// kongExit carries kong's exit request (after --help) out of the parser.
type kongExit struct{ code int }

// Run parses args, runs the command with the given IO and returns the exit code.
func Run(ctx context.Context, args []string, stdio IO) (code int) {
	var root CLI
	root.io = stdio
	root.baseCtx = ctx
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(kongExit); ok {
				code = e.code
				return
			}
			panic(r)
		}
	}()
	parser, err := kong.New(&root,
		kong.Name("pincluster"),
		kong.Description("pincluster: a pinning cluster for IPFS. Service commands run a peer; client commands talk to a running peer's REST API."),
		kong.Writers(stdio.Out, stdio.Err),
		kong.Exit(func(c int) { panic(kongExit{c}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(stdio.Err, "error: %v\n", err)
		return ExitLocal
	}
	kctx, err := parser.Parse(joinNegativeValues(args))
	if err != nil {
		fmt.Fprintf(stdio.Err, "error: %s (see pincluster --help)\n", oneLine(err.Error()))
		return ExitLocal
	}
	err = kctx.Run(&root.Globals)
	return report(stdio.Err, err)
}

// report prints err as one line and returns its exit code.
func report(w io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	var ae api.Error
	var lf errLinesFailed
	var in errInterrupted
	switch {
	case errors.As(err, &lf):
		return ExitAPI // the summary said which lines
	case errors.As(err, &in):
		fmt.Fprintf(w, "error: %s\n", err)
		return ExitInterrupted
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, api.ErrTimeout):
		fmt.Fprintf(w, "error: %s\n", oneLine(err.Error()))
		return ExitTimeout
	case errors.As(err, &ae):
		fmt.Fprintf(w, "error: %s (HTTP %d)\n", oneLine(ae.Message), ae.Code)
		return ExitAPI
	default:
		msg := err.Error()
		// Local validation errors wrap api.ErrInvalid, whose text adds nothing on a command line.
		msg = strings.TrimPrefix(msg, api.ErrInvalid.Error()+": ")
		fmt.Fprintf(w, "error: %s\n", oneLine(msg))
		return ExitLocal
	}
}

func oneLine(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
}

// negativeFlags take values that may be negative (-1 = every peer). Kong reads "-1" after a flag
// as a short flag, so "--replication-min -1" is rewritten to "--replication-min=-1".
var negativeFlags = map[string]bool{"--replication": true, "--replication-min": true, "--replication-max": true}

func joinNegativeValues(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if negativeFlags[a] && i+1 < len(args) && len(args[i+1]) > 1 && args[i+1][0] == '-' &&
			strings.Trim(args[i+1][1:], "0123456789") == "" {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}
