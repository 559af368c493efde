package peer

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// rpcActorName is the name of the actor that answers other peers' requests.
const rpcActorName = "peer"

// rpcTimeout bounds a fan-out request to one peer.
const rpcTimeout = 15 * time.Second

// rpcActor answers other peers. Each request runs in a goroutine (IPFS and Badger calls block)
// and the reply goes to the sender, which the remote layer routes back over the wire.
type rpcActor struct {
	p *Peer
}

func (a *rpcActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.StatusRequest:
		a.async(ctx, func(c context.Context) any { return a.p.onStatusRequest(c, m) })
	case *messages.RecoverRequest:
		a.async(ctx, func(c context.Context) any { return a.p.onRecoverRequest(c, m) })
	case *messages.RecoverAllRequest:
		a.async(ctx, func(c context.Context) any {
			resp := &messages.StatusResponse{Infos: []api.PinInfo{}}
			err := a.p.RecoverAll(c, true, func(g api.GlobalPinInfo) error {
				if pi, ok := g.PeerMap[a.p.ident.ID.String()]; ok {
					resp.Infos = append(resp.Infos, api.PinInfo{Cid: g.Cid, Name: g.Name, Peer: a.p.ident.ID,
						Allocations: g.Allocations, Origins: g.Origins, Created: g.Created, Metadata: g.Metadata, PinInfoShort: pi})
				}
				return nil
			})
			if err != nil {
				resp.Error = err.Error()
			}
			return resp
		})
	case *messages.GCRequest:
		a.async(ctx, func(c context.Context) any {
			res, _ := a.p.IPFSGC(c, true)
			return &messages.GCResponse{Result: res.PeerMap[a.p.ident.ID.String()]}
		})
	case *messages.IDRequest:
		a.async(ctx, func(c context.Context) any { return &messages.IDResponse{ID: a.p.ID(c)} })
	case *messages.LeaveRequest:
		a.async(ctx, func(c context.Context) any { return a.p.onLeaveRequest(m) })
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		a.p.log.Warn("peer rpc: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *rpcActor) async(ctx actor.Context, f func(context.Context) any) {
	sender, system := ctx.Sender(), ctx.ActorSystem()
	if sender == nil {
		return
	}
	if a.p.ctx.Err() != nil {
		return // closing: the requester gets a timeout or an unreachable error
	}
	a.p.goLoop(func() {
		c, cancel := context.WithTimeout(a.p.ctx, time.Hour)
		defer cancel()
		system.Root.Send(sender, f(c))
	})
}

func (p *Peer) onStatusRequest(ctx context.Context, m *messages.StatusRequest) *messages.StatusResponse {
	resp := &messages.StatusResponse{Infos: make([]api.PinInfo, 0, len(m.Cids))}
	for _, s := range m.Cids {
		c, err := api.DecodeCid(s)
		if err != nil {
			return &messages.StatusResponse{Error: err.Error()}
		}
		pi, err := p.localInfo(ctx, c)
		if err != nil {
			return &messages.StatusResponse{Error: err.Error()}
		}
		resp.Infos = append(resp.Infos, pi)
	}
	return resp
}

func (p *Peer) onRecoverRequest(ctx context.Context, m *messages.RecoverRequest) *messages.StatusResponse {
	c, err := api.DecodeCid(m.Cid)
	if err != nil {
		return &messages.StatusResponse{Error: err.Error()}
	}
	pi, err := p.recoverLocal(ctx, c)
	if err != nil {
		return &messages.StatusResponse{Error: err.Error()}
	}
	return &messages.StatusResponse{Infos: []api.PinInfo{pi}}
}
