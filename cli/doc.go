// Package cli is pincluster's command line (kong): service commands (init, daemon, state ...)
// that run a peer through package peer, and client commands (id, pin add, status ...) that talk
// to a running daemon's REST API through api/client.
//
// Each command is a struct in its own file with a Run(*Globals) error method. Main parses the
// arguments, runs the command and maps its error to an exit code: 0 ok, 1 local or usage error,
// 2 API error, 62 timeout. Errors are printed on stderr as one line.
//
// Authentication: --basic-auth USER:PW (or $CLUSTER_CREDENTIALS) sends basic auth; --token JWT
// (or $PINCLUSTER_TOKEN) sends a bearer token instead, which `pincluster token` prints.
package cli
