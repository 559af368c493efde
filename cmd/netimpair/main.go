// Command netimpair relays TCP and UDP with delay, jitter and loss (internal/impair): the
// impairment layer of the namespace cluster (scripts/netns-cluster.sh, docs/netns.md) on
// kernels without the netem qdisc. It is a test tool; the pincluster daemon never runs it.
//
// Two forms:
//
//	netimpair -link 50ms+-10ms,1% -tcp 127.0.0.1:7000 -to 127.0.0.1:9096      # a relay per link
//	netimpair -link 50ms+-10ms,1% -tcp 0.0.0.0:9096 -transparent               # a router's relay (Linux, root)
//
// With -transparent the listening socket has IP_TRANSPARENT, so it accepts connections meant
// for addresses that are not its own (the script's router namespace delivers every packet
// from a peer's link locally, by policy routing), dials the address the client meant, and
// binds that dial to the client's own address, so both ends see each other's real address
// and neither knows the relay is there. -udp relays datagrams in the per-link form only (-to):
// pincluster's cluster traffic is TCP.
//
// SIGUSR1 prints the counters; SIGINT/SIGTERM print them and exit. Bad flags exit with code 2
// and one line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/pincluster/pincluster/internal/impair"
)

type options struct {
	link        impair.Link
	seed        uint64
	tcp, udp    string
	to          string
	transparent bool
	queue       int
	verbose     bool
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "netimpair:", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "netimpair:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("netimpair", flag.ContinueOnError)
	link := fs.String("link", "0", `delay, jitter and loss of each direction: "DELAY[+-JITTER][,LOSS%]", e.g. 50ms+-10ms,1%`)
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the delay and loss draws (per stream: seed and stream number)")
	fs.StringVar(&o.tcp, "tcp", "", "TCP address to listen on")
	fs.StringVar(&o.udp, "udp", "", "UDP address to listen on (needs -to)")
	fs.StringVar(&o.to, "to", "", "the address to relay to (a relay per link)")
	fs.BoolVar(&o.transparent, "transparent", false, "relay TCP to the address each client meant (IP_TRANSPARENT; Linux, CAP_NET_ADMIN)")
	fs.IntVar(&o.queue, "queue", impair.DefaultQueueChunks, "chunks (32 KiB) in flight per TCP direction")
	fs.BoolVar(&o.verbose, "v", false, "log every failed upstream dial")
	fs.SetOutput(io.Discard) // a bad flag is one line (main prints it); -h prints the defaults
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.PrintDefaults()
		}
		return o, err
	}
	var err error
	if o.link, err = impair.ParseLink(*link); err != nil {
		return o, fmt.Errorf("-link: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.tcp == "" && o.udp == "":
		return o, errors.New("nothing to relay: give -tcp and/or -udp")
	case o.transparent && o.to != "":
		return o, errors.New("-transparent and -to exclude each other")
	case o.tcp != "" && !o.transparent && o.to == "":
		return o, errors.New("-tcp needs -to ADDR or -transparent")
	case o.udp != "" && o.to == "":
		return o, errors.New("-udp needs -to ADDR (UDP is relayed per link only)")
	case o.queue < 1:
		return o, errors.New("-queue must be at least 1")
	}
	return o, nil
}

func run(o options) error {
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var stats []*impair.Stats
	errc := make(chan error, 2)
	running := 0
	if o.tcp != "" {
		r := &impair.TCPRelay{Link: o.link, Seed: o.seed, QueueChunks: o.queue, Log: log}
		var ln net.Listener
		var err error
		if o.transparent {
			ln, err = listenTransparent(ctx, o.tcp)
			r.Dial = dialTransparent
		} else {
			ln, err = net.Listen("tcp", o.tcp)
			r.Dial = impair.DialTarget(o.to)
		}
		if err != nil {
			return err
		}
		stats = append(stats, &r.Stats)
		running++
		go func() { errc <- r.Serve(ctx, ln) }()
		fmt.Printf("netimpair: tcp %s -> %s, each direction %s, seed %d\n", ln.Addr(), target(o), o.link, o.seed)
	}
	if o.udp != "" {
		to, err := net.ResolveUDPAddr("udp", o.to)
		if err != nil {
			return fmt.Errorf("-to: %w", err)
		}
		la, err := net.ResolveUDPAddr("udp", o.udp)
		if err != nil {
			return fmt.Errorf("-udp: %w", err)
		}
		pc, err := net.ListenUDP("udp", la)
		if err != nil {
			return err
		}
		r := &impair.UDPRelay{Link: o.link, Seed: o.seed, Target: to, Log: log}
		stats = append(stats, &r.Stats)
		running++
		go func() { errc <- r.Serve(ctx, pc) }()
		fmt.Printf("netimpair: udp %s -> %s, each direction %s, seed %d\n", pc.LocalAddr(), to, o.link, o.seed)
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	print := func() {
		for _, s := range stats {
			fmt.Println("netimpair:", s)
		}
	}
	var first error
	for running > 0 {
		select {
		case <-usr1:
			print()
		case err := <-errc:
			running--
			if err != nil && first == nil {
				first = err
				stop() // one relay failed: stop the other too
			}
		}
	}
	print()
	return first
}

func target(o options) string {
	if o.transparent {
		return "the address each client dialled"
	}
	return o.to
}
