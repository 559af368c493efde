package peer

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
//   - read: id, the status of CIDs on this peer, and the pinset itself (anti-entropy pulls;
//     followers and untrusted replicas need the pinset to pin their allocations). Metrics travel
//     over pubsub, where each peer may only speak for itself.
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

// rpcEntry is one remote call: codec is the form this peer sends (and reads), proto the
// protobuf form it also reads, under the same name and a later version (rpc_wire.go says
// why it is not sent yet).
type rpcEntry struct {
	codec  remote.Codec
	access rpcAccess
	proto  remote.Codec
}

// rpcPolicy is the table of remote calls.
var rpcPolicy = []rpcEntry{
	{remote.JSONCodec[messages.IDRequest]("pincluster.IDRequest", 1), rpcRead, protoIDRequest},
	{remote.JSONCodec[messages.StatusRequest]("pincluster.StatusRequest", 1), rpcRead, protoStatusRequest},
	{remote.JSONCodec[messages.SyncRequest]("pincluster.SyncRequest", 2), rpcRead, protoSyncRequest},
	{remote.JSONCodec[messages.RecoverRequest]("pincluster.RecoverRequest", 1), rpcTrusted, protoRecoverRequest},
	{remote.JSONCodec[messages.RecoverAllRequest]("pincluster.RecoverAllRequest", 1), rpcTrusted, protoRecoverAllRequest},
	{remote.JSONCodec[messages.GCRequest]("pincluster.GCRequest", 1), rpcTrusted, protoGCRequest},
	{remote.JSONCodec[messages.LeaveRequest]("pincluster.LeaveRequest", 1), rpcTrusted, protoLeaveRequest},
	{remote.JSONCodec[messages.IDResponse]("pincluster.IDResponse", 1), rpcReply, protoIDResponse},
	{remote.JSONCodec[messages.StatusResponse]("pincluster.StatusResponse", 1), rpcReply, protoStatusResponse},
	{remote.JSONCodec[messages.SyncResponse]("pincluster.SyncResponse", 2), rpcReply, protoSyncResponse},
	{remote.JSONCodec[messages.GCResponse]("pincluster.GCResponse", 1), rpcReply, protoGCResponse},
	{remote.JSONCodec[messages.LeaveResponse]("pincluster.LeaveResponse", 1), rpcReply, protoLeaveResponse},
}

// registerCodecs registers every message type of the policy table.
func registerCodecs(reg *remote.Registry) error {
	for _, e := range rpcPolicy {
		if err := reg.Register(e.codec); err != nil {
			return err
		}
		if err := reg.Register(e.proto); err != nil {
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

// authorizeRPC is the remote layer's Authorize hook: it refuses a call that needs a trusted
// caller from a peer that is not trusted, a reply that answers no request of ours, and any
// type the table does not declare.
func authorizeRPC(trusted func(libp2ppeer.ID) bool) func(libp2ppeer.ID, string, bool) error {
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
