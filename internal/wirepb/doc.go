// Package wirepb holds the protobuf schemas of everything pincluster peers exchange and persist,
// and the Go code protoc-gen-go generates from them (`make proto`, with the protoc and
// protoc-gen-go versions the Makefile pins, regenerates the committed files byte for byte, so
// building needs no protoc):
//
//   - op.proto: the pinset's ops and batches (pubsub, op log, sync answers; messages/).
//   - envelope.proto: the frame of every remote actor message (remote/).
//   - rpc.proto: the requests and replies of the remote calls, sync answers included
//     (cluster/rpcwire).
//   - metrics.proto: the metrics each peer publishes over pubsub (actors/gossip/metrics_wire.go).
//   - token.proto: bearer-token records, gossiped and pulled (internal/tokenwire, actors/tokens).
//   - removal.proto: peer removals (actors/gossip/removal_wire.go).
//   - statusdigest.proto: status digests, gossiped and pulled (statusdigest).
//   - versions.proto: version vector announcements, carried by status digest heartbeats
//     (statusdigest).
//
// Other packages convert between these types and their domain types at the edge; nothing
// outside the codecs uses them. Golden files next to each codec pin the bytes of every message
// (crdt/testdata, remote/testdata, cluster/rpcwire/testdata, actors/gossip/testdata), and each decoder has a fuzz target.
//
// Versions and compatibility (rolling upgrades): a field may be added, never renumbered or
// retyped; decoders skip unknown fields, so an older peer reads what a newer one writes. Ops
// and batches carry a version field that decoders check; the envelope changes only with a new
// remote.ProtocolID; a remote call's payload is identified by codec name and version, so a new
// form of a call is registered under the next version, read by one release before it is sent
// by the next (the JSON forms of the previous release are still read, never sent). A golden
// file changes only when a field is added, and then the old bytes must still decode.
package wirepb
