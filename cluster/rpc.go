package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// RPCActorName is the name of the actor that answers other members' requests (Caller sends
// to it).
const RPCActorName = "peer"

// rpcWorkLimit bounds the work of one request (a recover waits up to pin_timeout per item).
const rpcWorkLimit = time.Hour

// rpcActor answers other members. Each request runs in an I/O worker goroutine (IPFS and Badger
// calls block) under the peer's context, and the reply goes to the sender, which the remote
// layer routes back over the wire.
type rpcActor struct {
	svc     *Services
	node    Node
	base    context.Context
	workers *sync.WaitGroup
	log     *slog.Logger
}

// RPCProps are the props of the RPC actor over svc. Workers run under base (the peer's
// lifetime: cancelling it ends them) and are counted in workers, so the peer's Close waits for
// them.
func RPCProps(svc *Services, base context.Context, workers *sync.WaitGroup) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &rpcActor{svc: svc, node: svc.PeerService.d.Node, base: base, workers: workers, log: svc.PeerService.d.Log}
	})
}

func (a *rpcActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.StatusRequest:
		a.async(ctx, func(c context.Context) any { return a.onStatus(c, m) })
	case *messages.RecoverRequest:
		a.async(ctx, func(c context.Context) any { return a.onRecover(c, m) })
	case *messages.RecoverAllRequest:
		a.async(ctx, a.onRecoverAll)
	case *messages.GCRequest:
		a.async(ctx, func(c context.Context) any { return &messages.GCResponse{Result: a.svc.GCLocal(c)} })
	case *messages.IDRequest:
		a.async(ctx, func(c context.Context) any { r := a.svc.IDResponse(c); return &r })
	case *messages.AppliedRequest:
		a.async(ctx, func(c context.Context) any { return a.onApplied(c, m) })
	case *messages.LeaveRequest:
		a.onLeave(ctx, m)
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		a.log.Warn("peer rpc: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

// async runs f in a worker and sends its result to the sender.
func (a *rpcActor) async(ctx actor.Context, f func(context.Context) any) {
	sender, system := ctx.Sender(), ctx.ActorSystem()
	if sender == nil {
		return
	}
	if a.base.Err() != nil {
		return // closing: the requester gets a timeout or an unreachable error
	}
	a.workers.Add(1)
	go func() {
		defer a.workers.Done()
		c, cancel := context.WithTimeout(a.base, rpcWorkLimit)
		defer cancel()
		system.Root.Send(sender, f(c))
	}()
}

func (a *rpcActor) onStatus(ctx context.Context, m *messages.StatusRequest) *messages.StatusResponse {
	infos, err := a.svc.StatusLocal(ctx, m.Cids)
	if err != nil {
		return &messages.StatusResponse{Error: err.Error()}
	}
	return &messages.StatusResponse{Infos: infos}
}

func (a *rpcActor) onRecover(ctx context.Context, m *messages.RecoverRequest) *messages.StatusResponse {
	c, err := api.DecodeCid(m.Cid)
	if err != nil {
		return &messages.StatusResponse{Error: err.Error()}
	}
	pi, err := a.svc.RecoverLocal(ctx, c)
	if err != nil {
		return &messages.StatusResponse{Error: err.Error()}
	}
	return &messages.StatusResponse{Infos: []api.PinInfo{pi}}
}

func (a *rpcActor) onRecoverAll(ctx context.Context) any {
	infos, err := a.svc.RecoverAllLocal(ctx, nil)
	resp := &messages.StatusResponse{Infos: infos}
	if resp.Infos == nil {
		resp.Infos = []api.PinInfo{}
	}
	if err != nil {
		resp.Error = err.Error()
	}
	return resp
}

// onLeave: this peer was removed by a member (peers rm). A worker seals its writes (refused
// from now on; those taken are made durable and broadcast), then Leave starts the wait after
// which it stops (long enough for the remover to pull its ops: PeerRemove), and the reply
// carries its last op.
func (a *rpcActor) onLeave(ctx actor.Context, m *messages.LeaveRequest) {
	if ctx.Sender() == nil || a.base.Err() != nil {
		a.node.Leave(m.By, true)
		return
	}
	a.async(ctx, func(c context.Context) any {
		resp := &messages.LeaveResponse{}
		last, err := a.node.SealWrites(c, "this peer was removed from the cluster: send writes to another peer")
		if err != nil {
			a.log.Warn("removed from the cluster: sealing this peer's writes", "err", err)
			resp.Error = err.Error()
		}
		resp.LastSeq = last
		a.node.Leave(m.By, true)
		return resp
	})
}
