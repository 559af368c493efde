// Package ipfsproxy is the IPFS proxy API: an HTTP server speaking Kubo's RPC API (POST
// /api/v0/...) on api.ipfsproxy.listen_multiaddress (default 127.0.0.1:9095), so that Kubo's
// own clients (`ipfs --api /ip4/127.0.0.1/tcp/9095 ...`, kubo/client/rpc, scripts using the RPC
// API) work against the cluster, as with IPFS Cluster's proxy.
//
// Cluster operations, in Kubo's response shapes:
//   - pin/add (one or more paths, recursive, name, progress): pins in the cluster with the
//     cluster's default replication; answered once the pins are durable in the pinset, not
//     when the blocks are fetched (the cluster fetches them on the allocated peers).
//   - pin/rm, pin/update (from, to, unpin): unpin / update in the cluster; the update keeps the
//     options and allocations of the pin it replaces.
//   - pin/ls: the cluster's pinset (not the local node's pins), {"Keys":{...}} or, with
//     stream, one {"Cid","Type","Name"} per line; arg, type and names as Kubo. Every pin type
//     is listed (a sharded add's meta-pin, cluster-DAG and shards too), each with its own
//     mode, as IPFS Cluster's proxy lists its whole pinset (its pinLsHandler streams
//     Cluster.Pins unfiltered); only the type names differ: it calls every pin "recursive"
//     outside stream mode, where this proxy says what the cluster pins.
//   - add: imports with the Adder service (the peer's IPFS node) and pins the root in the
//     cluster unless pin=false; Kubo's NDJSON lines {"Name","Hash","Size"}. Without
//     wrap-with-directory each file or directory named is an add (and a pin) of its own, as in
//     Kubo; the Adder pins one root per add. A Kubo add option the cluster's add does not
//     implement is a 400 naming it, not ignored (addopts.go).
//   - repo/stat: this peer's IPFS node (not a sum over the cluster, unlike IPFS Cluster's
//     proxy, which adds up RepoSize and StorageMax of every peer).
//   - repo/gc: a cluster-wide gc through the Health service; the removed keys of every peer.
//
// Every other endpoint goes to Kubo with the kubo backend (a reverse proxy to
// node_multiaddress). With the embedded backend id, version, cat, block/get, dag/export and
// dag/import are served by the embedded node (dag/import pins the roots in the cluster unless
// pin-roots=false: Kubo's rules on roots, see dagImport) and anything else is answered 501.
//
// Errors have Kubo's shape {"Message","Code","Type":"error"}: 400 with Code 1 for bad
// arguments or bodies (and nothing is changed), 500 with Code 0 for the rest, not-found
// included (Kubo answers "not pinned" with a 500; a 404 means "command not found" to Kubo's
// client), 501 for endpoints the embedded node does not serve, 503/504/507 for a full queue, a
// timeout, a full disk.
//
// No authentication, like IPFS Cluster's proxy: it listens on 127.0.0.1 by default, and anyone
// who can reach it can pin, unpin and gc. Do not expose it. Requests from a web page of another
// origin (an Origin or Referer header naming another host) are refused with a 403, as Kubo
// refuses them, so a site open in a browser on the same machine cannot drive it.
package ipfsproxy
