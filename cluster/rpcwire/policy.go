// Package rpcwire declares every remote call between peers: its protobuf wire form (wire.go,
// internal/wirepb/rpc.proto) and, in one table, who may make it (policy.go). The cluster
// package's rpc actor answers these calls; the peer registers the table with remote/ and
// installs Authorize as the remote layer's hook. It is apart from cluster because it is the
// wire contract, read by the remote layer before any handler runs.
package rpcwire

import (
	"fmt"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/remote"
)

// The RPC policy: every message type that crosses peers is declared here, once, with the
// callers it accepts (as IPFS Cluster's rpc_policy). The remote layer asks the policy before it
// decodes an inbound message, with the caller's authenticated peer ID, so no handler can forget
// the check. Holding the cluster secret lets a host connect; only consensus.crdt.trusted_peers
// may change anything:
//   - read: id, the status of CIDs on this peer, how much of an origin's log it stores, the
//     pinset itself (anti-entropy pulls; followers and untrusted replicas need the pinset to
//     pin their allocations) and the bearer-token records (ids, metadata and revocations,
//     never tokens). Metrics travel over pubsub, where each peer may only speak for itself.
//   - trusted: anything that changes this peer or its IPFS node: leaving the cluster (peers rm),
//     recover, IPFS GC.
//   - reply: answers to this peer's own requests, accepted only from the peer that was asked
//     while the request is outstanding (the remote layer tracks them), so no peer can inject
//     a reply (a forged snapshot page, say) into a request it was not sent.
//
// A message type missing from the table is refused: a new remote call must be declared here.

type rpcAccess int

const (
	rpcTrusted rpcAccess = iota // the zero value: the safe default
	rpcRead
	rpcReply
)

func (a rpcAccess) String() string {
	switch a {
	case rpcRead:
		return "read"
	case rpcReply:
		return "reply"
	default:
		return "trusted"
	}
}

// rpcEntry is one remote call: codec is its protobuf form (wire.go), which this peer sends
// and reads; legacy the JSON form of the previous release under the same name and an earlier
// version, still read (never sent) so that its peers keep talking to this one during a rolling
// upgrade.
type rpcEntry struct {
	codec  remote.Codec
	access rpcAccess
	legacy remote.Codec
}

// rpcPolicy is the table of remote calls.
var rpcPolicy = []rpcEntry{
	{protoIDRequest, rpcRead, legacyJSON[messages.IDRequest]("pincluster.IDRequest", 1)},
	{protoStatusRequest, rpcRead, legacyJSON[messages.StatusRequest]("pincluster.StatusRequest", 1)},
	{protoSyncRequest, rpcRead, legacyJSON[messages.SyncRequest]("pincluster.SyncRequest", 2)},
	{protoRecoverRequest, rpcTrusted, legacyJSON[messages.RecoverRequest]("pincluster.RecoverRequest", 1)},
	{protoRecoverAllRequest, rpcTrusted, legacyJSON[messages.RecoverAllRequest]("pincluster.RecoverAllRequest", 1)},
	{protoGCRequest, rpcTrusted, legacyJSON[messages.GCRequest]("pincluster.GCRequest", 1)},
	{protoLeaveRequest, rpcTrusted, legacyJSON[messages.LeaveRequest]("pincluster.LeaveRequest", 1)},
	{protoIDResponse, rpcReply, legacyJSON[messages.IDResponse]("pincluster.IDResponse", 1)},
	{protoStatusResponse, rpcReply, legacyJSON[messages.StatusResponse]("pincluster.StatusResponse", 1)},
	{protoSyncResponse, rpcReply, legacyJSON[messages.SyncResponse]("pincluster.SyncResponse", 2)},
	{protoGCResponse, rpcReply, legacyJSON[messages.GCResponse]("pincluster.GCResponse", 1)},
	{protoLeaveResponse, rpcReply, legacyJSON[messages.LeaveResponse]("pincluster.LeaveResponse", 1)},
	// Token records (token_wire.go): new in this release, no legacy form. Read access like the
	// pinset: records carry ids and metadata, never tokens, and a follower needs the
	// revocations to refuse revoked tokens on its own API; the puller merges only what a
	// trusted peer answers.
	{protoTokenSyncRequest, rpcRead, remote.Codec{}},
	{protoTokenSyncResponse, rpcReply, remote.Codec{}},
	// Status digest pulls (statusdigest_wire.go): new, no legacy form. Read access like the
	// status of CIDs it summarises; the puller takes only what a trusted peer answers.
	{protoStatusDigestPullRequest, rpcRead, remote.Codec{}},
	{protoStatusDigestPullResponse, rpcReply, remote.Codec{}},
	// Applied (where a batch ingest is held): new, no legacy form. Read access: it tells how much
	// of an origin's log the peer stores, as a sync request's answer does.
	{protoAppliedRequest, rpcRead, remote.Codec{}},
	{protoAppliedResponse, rpcReply, remote.Codec{}},
}

// Register registers every message type of the policy table.
func Register(reg *remote.Registry) error {
	for _, e := range rpcPolicy {
		if err := reg.Register(e.codec); err != nil {
			return err
		}
		if e.legacy.Name == "" {
			continue // no earlier form
		}
		if err := reg.Register(e.legacy); err != nil {
			return err
		}
	}
	return nil
}

// rpcAccessByType indexes the table by codec name.
var rpcAccessByType = func() map[string]rpcAccess {
	m := make(map[string]rpcAccess, len(rpcPolicy))
	for _, e := range rpcPolicy {
		m[e.codec.Name] = e.access
	}
	return m
}()

// Authorize is the remote layer's Authorize hook: it refuses a call that needs a trusted
// caller from a peer that is not trusted, a reply that answers no request of ours, and any
// type the table does not declare.
func Authorize(trusted func(libp2ppeer.ID) bool) func(libp2ppeer.ID, string, bool) error {
	return func(from libp2ppeer.ID, msgType string, isReply bool) error {
		access, ok := rpcAccessByType[msgType]
		switch {
		case !ok:
			return fmt.Errorf("%w: %s is not in the RPC policy", api.ErrForbidden, msgType)
		case access == rpcReply && !isReply:
			return fmt.Errorf("%w: %s from %s answers no request of this peer", api.ErrForbidden, msgType, from)
		case access == rpcTrusted && !trusted(from):
			return fmt.Errorf("%w: %s needs a trusted peer and %s is not in consensus.crdt.trusted_peers", api.ErrForbidden, msgType, from)
		}
		return nil
	}
}
