package rpcwire

import (
	"fmt"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/wirepb"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/remote"
)

// Protobuf forms of the remote calls (internal/wirepb/rpc.proto), converted here at the edge;
// testdata/golden pins their bytes. Each is registered under the next version of its call's
// name. Versions and compatibility: the previous release sent JSON and already read these
// forms, so this one sends them and still reads JSON (rpcEntry.legacy, read only) from peers
// of that release during a rolling upgrade; the next release drops JSON. Decoders treat their
// input as hostile: bad peer IDs and CIDs are errors.

// rpcProto is the ProtoCodec of an RPC message.
func rpcProto[T any, W proto.Message](name string, version uint32, newWire func() W, toWire func(*T) W, fromWire func(W, *T) error) remote.Codec {
	return remote.ProtoCodec(name, version, newWire, toWire, fromWire)
}

// legacyJSON is the read-only JSON form of an RPC message that the previous release sent.
func legacyJSON[T any](name string, version uint32) remote.Codec {
	c := remote.JSONCodec[T](name, version)
	c.ReceiveOnly = true
	return c
}

func noFields[T any, W proto.Message](newWire func() W) (func(*T) W, func(W, *T) error) {
	return func(*T) W { return newWire() }, func(W, *T) error { return nil }
}

var (
	protoIDRequest = func() remote.Codec {
		nw := func() *wirepb.IDRequest { return new(wirepb.IDRequest) }
		to, from := noFields[messages.IDRequest](nw)
		return remote.ProtoCodec("pincluster.IDRequest", 2, nw, to, from)
	}()
	protoRecoverAllRequest = func() remote.Codec {
		nw := func() *wirepb.RecoverAllRequest { return new(wirepb.RecoverAllRequest) }
		to, from := noFields[messages.RecoverAllRequest](nw)
		return remote.ProtoCodec("pincluster.RecoverAllRequest", 2, nw, to, from)
	}()
	protoGCRequest = func() remote.Codec {
		nw := func() *wirepb.GCRequest { return new(wirepb.GCRequest) }
		to, from := noFields[messages.GCRequest](nw)
		return remote.ProtoCodec("pincluster.GCRequest", 2, nw, to, from)
	}()

	protoStatusRequest = remote.ProtoCodec("pincluster.StatusRequest", 2, func() *wirepb.StatusRequest { return new(wirepb.StatusRequest) },
		func(m *messages.StatusRequest) *wirepb.StatusRequest { return &wirepb.StatusRequest{Cids: m.Cids} },
		func(w *wirepb.StatusRequest, m *messages.StatusRequest) error { m.Cids = w.Cids; return nil })
	protoRecoverRequest = remote.ProtoCodec("pincluster.RecoverRequest", 2, func() *wirepb.RecoverRequest { return new(wirepb.RecoverRequest) },
		func(m *messages.RecoverRequest) *wirepb.RecoverRequest { return &wirepb.RecoverRequest{Cid: m.Cid} },
		func(w *wirepb.RecoverRequest, m *messages.RecoverRequest) error { m.Cid = w.Cid; return nil })
	protoLeaveRequest = remote.ProtoCodec("pincluster.LeaveRequest", 2, func() *wirepb.LeaveRequest { return new(wirepb.LeaveRequest) },
		func(m *messages.LeaveRequest) *wirepb.LeaveRequest { return &wirepb.LeaveRequest{By: m.By} },
		func(w *wirepb.LeaveRequest, m *messages.LeaveRequest) error { m.By = w.By; return nil })
	protoLeaveResponse = remote.ProtoCodec("pincluster.LeaveResponse", 2, func() *wirepb.LeaveResponse { return new(wirepb.LeaveResponse) },
		func(m *messages.LeaveResponse) *wirepb.LeaveResponse {
			return &wirepb.LeaveResponse{Error: m.Error, LastSeq: m.LastSeq}
		},
		func(w *wirepb.LeaveResponse, m *messages.LeaveResponse) error {
			m.Error, m.LastSeq = w.Error, w.LastSeq
			return nil
		})

	protoIDResponse = remote.ProtoCodec("pincluster.IDResponse", 2, func() *wirepb.IDResponse { return new(wirepb.IDResponse) },
		func(m *messages.IDResponse) *wirepb.IDResponse {
			return &wirepb.IDResponse{Id: idToWire(m.ID), Connected: peerIDsToWire(m.Connected)}
		},
		func(w *wirepb.IDResponse, m *messages.IDResponse) (err error) {
			if m.ID, err = idFromWire(w.Id); err != nil {
				return err
			}
			m.Connected, err = peerIDsFromWire(w.Connected, "connected peer")
			return err
		})
	protoGCResponse = remote.ProtoCodec("pincluster.GCResponse", 2, func() *wirepb.GCResponse { return new(wirepb.GCResponse) },
		func(m *messages.GCResponse) *wirepb.GCResponse {
			return &wirepb.GCResponse{Result: repoGCToWire(m.Result)}
		},
		func(w *wirepb.GCResponse, m *messages.GCResponse) (err error) {
			m.Result, err = repoGCFromWire(w.Result)
			return err
		})
	protoStatusResponse = remote.ProtoCodec("pincluster.StatusResponse", 2, func() *wirepb.StatusResponse { return new(wirepb.StatusResponse) },
		statusResponseToWire, statusResponseFromWire)
	protoSyncRequest = remote.ProtoCodec("pincluster.SyncRequest", 3, func() *wirepb.SyncRequest { return new(wirepb.SyncRequest) },
		func(m *messages.SyncRequest) *wirepb.SyncRequest {
			return &wirepb.SyncRequest{Vv: m.VV, Limit: int64(m.Limit), Cursor: m.Cursor, Held: seqRangesToWire(m.Held)}
		},
		func(w *wirepb.SyncRequest, m *messages.SyncRequest) error {
			*m = messages.SyncRequest{VV: nilIfEmpty(w.Vv), Limit: int(w.Limit), Cursor: w.Cursor, Held: seqRangesFromWire(w.Held)}
			return nil
		})
	protoAppliedRequest = remote.ProtoCodec("pincluster.AppliedRequest", 1, func() *wirepb.AppliedRequest { return new(wirepb.AppliedRequest) },
		func(m *messages.AppliedRequest) *wirepb.AppliedRequest {
			return &wirepb.AppliedRequest{Origin: []byte(m.Origin), Seq: m.Seq, WaitMs: m.Wait.Milliseconds()}
		},
		func(w *wirepb.AppliedRequest, m *messages.AppliedRequest) error {
			origin, err := peerIDFromWire(w.Origin, "applied.origin")
			if err != nil {
				return err
			}
			if w.WaitMs < 0 {
				return fmt.Errorf("%w: applied.wait_ms is negative", api.ErrInvalid)
			}
			*m = messages.AppliedRequest{Origin: origin, Seq: w.Seq, Wait: time.Duration(min(w.WaitMs, maxAppliedWaitMs)) * time.Millisecond}
			return nil
		})
	protoAppliedResponse = remote.ProtoCodec("pincluster.AppliedResponse", 1, func() *wirepb.AppliedResponse { return new(wirepb.AppliedResponse) },
		func(m *messages.AppliedResponse) *wirepb.AppliedResponse {
			return &wirepb.AppliedResponse{Seq: m.Seq, Error: m.Error}
		},
		func(w *wirepb.AppliedResponse, m *messages.AppliedResponse) error {
			*m = messages.AppliedResponse{Seq: w.Seq, Error: w.Error}
			return nil
		})
	protoSyncResponse = remote.ProtoCodec("pincluster.SyncResponse", 3, func() *wirepb.SyncResponse { return new(wirepb.SyncResponse) },
		func(m *messages.SyncResponse) *wirepb.SyncResponse {
			return &wirepb.SyncResponse{Ops: m.Ops, More: m.More, Vv: m.VV, Error: m.Error,
				Snapshot: m.Snapshot, Records: m.Records, Cursor: m.Cursor, SnapshotVv: m.SnapshotVV, Removed: m.Removed, Heard: m.Heard, HeardAt: m.HeardAt}
		},
		func(w *wirepb.SyncResponse, m *messages.SyncResponse) error {
			// The ops and records are decoded (and validated) by UnmarshalOp where they are used.
			*m = messages.SyncResponse{Ops: w.Ops, More: w.More, VV: nilIfEmpty(w.Vv), Error: w.Error,
				Snapshot: w.Snapshot, Records: w.Records, Cursor: w.Cursor, SnapshotVV: nilIfEmpty(w.SnapshotVv),
				Removed: nilIfEmpty(w.Removed), Heard: nilIfEmpty(w.Heard), HeardAt: w.HeardAt}
			return nil
		})
)

// maxAppliedWaitMs caps how long a peer holds an AppliedRequest open (a caller asking more waits
// less), so that no caller can park requests for long.
const maxAppliedWaitMs = 60_000

// nilIfEmpty maps an empty map to nil: protobuf cannot tell them apart, and its decoder makes
// an empty map of a map field whose bytes it skips (a wrong wire type), so a value would not
// survive a round trip unchanged (FuzzRPCProtoDecode found it).
func nilIfEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

func peerIDFromWire(b []byte, what string) (libp2ppeer.ID, error) {
	if len(b) == 0 {
		return "", nil
	}
	id, err := libp2ppeer.IDFromBytes(b)
	if err != nil {
		return "", fmt.Errorf("%w: %s: bad peer ID: %v", api.ErrInvalid, what, err)
	}
	return id, nil
}

func peerIDsToWire(ids []libp2ppeer.ID) [][]byte {
	if ids == nil {
		return nil
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = []byte(id)
	}
	return out
}

func peerIDsFromWire(bs [][]byte, what string) ([]libp2ppeer.ID, error) {
	if bs == nil {
		return nil, nil
	}
	out := make([]libp2ppeer.ID, len(bs))
	for i, b := range bs {
		id, err := peerIDFromWire(b, what)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// timeToWire leaves the zero time out; times cross in UTC.
func timeToWire(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeFromWire(ts *timestamppb.Timestamp, what string) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: %v", api.ErrInvalid, what, err)
	}
	return ts.AsTime(), nil
}

func idToWire(id api.ID) *wirepb.ID {
	return &wirepb.ID{Id: []byte(id.ID), Addresses: id.Addresses, ClusterPeers: peerIDsToWire(id.ClusterPeers),
		ClusterPeersAddresses: id.ClusterPeersAddresses, Version: id.Version, Commit: id.Commit,
		RpcProtocolVersion: id.RPCProtocolVersion, Error: id.Error, Peername: id.Peername,
		Ipfs: &wirepb.IPFSID{Id: id.IPFS.ID, Addresses: id.IPFS.Addresses, Error: id.IPFS.Error}}
}

func idFromWire(w *wirepb.ID) (api.ID, error) {
	if w == nil {
		return api.ID{}, nil
	}
	self, err := peerIDFromWire(w.Id, "id.id")
	if err != nil {
		return api.ID{}, err
	}
	peers, err := peerIDsFromWire(w.ClusterPeers, "id.cluster_peers")
	if err != nil {
		return api.ID{}, err
	}
	out := api.ID{ID: self, Addresses: w.Addresses, ClusterPeers: peers, ClusterPeersAddresses: w.ClusterPeersAddresses,
		Version: w.Version, Commit: w.Commit, RPCProtocolVersion: w.RpcProtocolVersion, Error: w.Error, Peername: w.Peername}
	if w.Ipfs != nil {
		out.IPFS = api.IPFSID{ID: w.Ipfs.Id, Addresses: w.Ipfs.Addresses, Error: w.Ipfs.Error}
	}
	return out, nil
}

func repoGCToWire(gc api.IPFSRepoGC) *wirepb.IPFSRepoGC {
	return &wirepb.IPFSRepoGC{Peer: []byte(gc.Peer), Peername: gc.Peername, Keys: gc.Keys, Error: gc.Error}
}

func repoGCFromWire(w *wirepb.IPFSRepoGC) (api.IPFSRepoGC, error) {
	if w == nil {
		return api.IPFSRepoGC{}, nil
	}
	p, err := peerIDFromWire(w.Peer, "gc.peer")
	if err != nil {
		return api.IPFSRepoGC{}, err
	}
	return api.IPFSRepoGC{Peer: p, Peername: w.Peername, Keys: w.Keys, Error: w.Error}, nil
}

func statusResponseToWire(m *messages.StatusResponse) *wirepb.StatusResponse {
	w := &wirepb.StatusResponse{Error: m.Error}
	if m.Infos != nil {
		w.Infos = make([]*wirepb.PinInfo, len(m.Infos))
	}
	for i, pi := range m.Infos {
		wp := &wirepb.PinInfo{Name: pi.Name, Peer: []byte(pi.Peer), Allocations: peerIDsToWire(pi.Allocations),
			Origins: pi.Origins, Created: timeToWire(pi.Created), Metadata: pi.Metadata,
			Peername: pi.PeerName, IpfsPeerId: pi.IPFS, IpfsPeerAddresses: pi.IPFSAddresses,
			Status: uint64(pi.Status), Timestamp: timeToWire(pi.TS), Error: pi.PinInfoShort.Error,
			AttemptCount: int64(pi.AttemptCount), PriorityPin: pi.PriorityPin}
		if pi.Cid.Defined() {
			wp.Cid = pi.Cid.Bytes()
		}
		w.Infos[i] = wp
	}
	return w
}

func statusResponseFromWire(w *wirepb.StatusResponse, m *messages.StatusResponse) error {
	*m = messages.StatusResponse{Error: w.Error}
	if w.Infos != nil {
		m.Infos = make([]api.PinInfo, len(w.Infos))
	}
	for i, wp := range w.Infos {
		pi, err := pinInfoFromWire(wp)
		if err != nil {
			return fmt.Errorf("status response info %d: %w", i, err)
		}
		m.Infos[i] = pi
	}
	return nil
}

func pinInfoFromWire(w *wirepb.PinInfo) (api.PinInfo, error) {
	var pi api.PinInfo
	var err error
	if len(w.Cid) > 0 {
		if pi.Cid, err = api.CastCid(w.Cid); err != nil {
			return api.PinInfo{}, err
		}
	}
	if pi.Peer, err = peerIDFromWire(w.Peer, "pin_info.peer"); err != nil {
		return api.PinInfo{}, err
	}
	if pi.Allocations, err = peerIDsFromWire(w.Allocations, "pin_info.allocations"); err != nil {
		return api.PinInfo{}, err
	}
	if pi.Created, err = timeFromWire(w.Created, "pin_info.created"); err != nil {
		return api.PinInfo{}, err
	}
	if pi.TS, err = timeFromWire(w.Timestamp, "pin_info.timestamp"); err != nil {
		return api.PinInfo{}, err
	}
	pi.Name, pi.Origins, pi.Metadata = w.Name, w.Origins, nilIfEmpty(w.Metadata)
	pi.PeerName, pi.IPFS, pi.IPFSAddresses = w.Peername, w.IpfsPeerId, w.IpfsPeerAddresses
	pi.Status, pi.PinInfoShort.Error = api.TrackerStatus(w.Status), w.Error
	pi.AttemptCount, pi.PriorityPin = int(w.AttemptCount), w.PriorityPin
	return pi, nil
}

func seqRangesToWire(rs []messages.SeqRange) []*wirepb.SeqRange {
	if len(rs) == 0 {
		return nil
	}
	out := make([]*wirepb.SeqRange, len(rs))
	for i, r := range rs {
		out[i] = &wirepb.SeqRange{Origin: r.Origin, From: r.From, To: r.To}
	}
	return out
}

// seqRangesFromWire keeps at most MaxHeldRanges ranges: the field is a hint (SyncRequest), so
// the rest is dropped rather than refused. Their contents are checked where they are used.
func seqRangesFromWire(ws []*wirepb.SeqRange) []messages.SeqRange {
	if len(ws) == 0 {
		return nil
	}
	ws = ws[:min(len(ws), messages.MaxHeldRanges)]
	out := make([]messages.SeqRange, len(ws))
	for i, w := range ws {
		out[i] = messages.SeqRange{Origin: w.GetOrigin(), From: w.GetFrom(), To: w.GetTo()}
	}
	return out
}
