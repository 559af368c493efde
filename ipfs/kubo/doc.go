// Package kubo is the IPFS backend for operators who already run a Kubo daemon: it talks to
// Kubo's HTTP RPC API (POST /api/v0/...) at Config.NodeMultiaddress
// (ipfs_connector.node_multiaddress, /ip4/127.0.0.1/tcp/5001 by default) and implements
// ipfs.Backend.
//
//	node, err := kubo.New(ctx, kubo.Config{NodeMultiaddress: "/ip4/127.0.0.1/tcp/5001", RequestTimeout: 5 * time.Minute})
//	if err != nil { ... } // "cannot reach Kubo at ...: is `ipfs daemon` running?"
//	defer node.Close()
//
// Calls map onto Kubo commands: Pin is pin/add with progress=true (each progress line reports the
// running block count, so the tracker's pin timeout counts from the last block), Unpin pin/rm,
// IsPinned pin/ls?arg= by type (no DAG walk), PinLs pin/ls?stream=true, Add add (multipart,
// pin=false), ImportCAR dag/import (pin-roots=false; the CAR's single root, and that it carries
// the root block, are checked here first), RepoStat repo/stat, GC repo/gc, Resolve
// resolve?recursive=true&cid-base=base58btc (so a CIDv0 answer is not upgraded to v1); an /ipns/
// name is resolved by Kubo's own name system (its routing, DNS for DNSLink).
//
// Timeouts: Config.RequestTimeout bounds the short calls (ID, IsPinned, RepoStat, Resolve); an
// /ipns/ Resolve is bounded by Config.ResolveTimeout (ipfs.DefaultResolveTimeout, 30s, sent
// as dht-timeout) plus a little slack, and one that runs out is api.ErrNotFound, like Kubo's
// "could not resolve name";
// Pin, Unpin, PinLs, Add, ImportCAR and GC run under the caller's context only, since their
// length follows the data (the tracker applies pin_timeout and unpin_timeout itself). A call that
// runs out of time returns an error wrapping api.ErrTimeout.
//
// Kubo's errors ({"Message","Code","Type"} bodies, and the X-Stream-Error trailer of streamed
// responses) become Go errors carrying Kubo's message; "not pinned" maps to ipfs.ErrNotPinned,
// a missing link or block to api.ErrNotFound, and Kubo's client errors to api.ErrInvalid. A
// failure to read the caller's input (Add's files, ImportCAR's CAR) aborts the call and is
// reported as api.ErrInvalid (ipfs.ErrBadCAR for a CAR), not as the broken call it causes.
//
// The tests run against a real Kubo (make test-kubo builds the version pinned in tools/kubo and
// sets PINCLUSTER_KUBO_BIN); without it they skip, except the unit and fuzz tests that run
// against canned answers (parse_test.go, input_test.go).
package kubo
