// Package cli is pincluster's command line (kong): service commands (init, daemon, state ...)
// that run a peer through package peer, and client commands (id, pin add, status ...) that talk
// to a running daemon's REST API through api/client.
//
// Each command is a struct in its own file with a Run(*Globals) error method. Main parses the
// arguments, runs the command and maps its error to an exit code: 0 ok, 1 local or usage error,
// 2 API error, 62 timeout. Errors are printed on stderr as one line.
//
// Finding the daemon: a client command talks to
//
//  1. the --host addresses, when given (the only way to reach a daemon elsewhere);
//  2. else the daemon of the config directory: --config DIR, else $PINCLUSTER_PATH, else
//     ~/.pincluster. A running daemon writes its REST API address to DIR/api and holds
//     DIR/daemon.lock; the address is used only while that lock is held, as an api file left by
//     a killed daemon may name a port another process has taken since;
//  3. else, only when no directory was named (no --config, no $PINCLUSTER_PATH) and
//     ~/.pincluster holds no peer (no service.json), the default /ip4/127.0.0.1/tcp/9094, as
//     ipfs-cluster-ctl does on a client-only machine.
//
// Otherwise the command fails (exit 1) with one line naming the directory, why it has no
// daemon (no api file, or a stale one) and how to start it. It never falls back to the default
// address for a directory that has or names a peer: that would reach whichever daemon listens
// there, and act on a cluster the user did not name. There is no environment variable for
// --host, so the environment alone never redirects a command away from the named directory.
//
// Authentication: --basic-auth USER:PW (or $CLUSTER_CREDENTIALS) sends basic auth; --token JWT
// (or $PINCLUSTER_TOKEN) sends a bearer token instead, which `pincluster token` prints.
// `pincluster token ls` lists the tokens of the whole cluster by id and `pincluster token revoke ID`
// revokes one on every peer (both need admin).
package cli
