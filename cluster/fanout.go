package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// RPCTimeout bounds a fan-out request to one member when the request does not wait for work
// (status, peers ls); recover and gc wait as long as the caller's ctx allows.
const RPCTimeout = 15 * time.Second

// fanout is the one way the services ask other members: concurrently, each answer (or the
// failure) handed to the caller in turn.
type fanout struct {
	remote  Caller
	members Members
}

// others lists the members but this peer, keeping only those keep accepts (nil: all).
func (f *fanout) others(ctx context.Context, keep func(peer.ID) bool) []peer.ID {
	self := f.members.Self()
	var out []peer.ID
	for _, id := range f.members.Members(ctx) {
		if id != self && (keep == nil || keep(id)) {
			out = append(out, id)
		}
	}
	return out
}

// ask sends msg to every peer of to at once (each bounded by timeout when not 0) and calls each
// with the member and its reply, one call at a time, in no order. It returns when every member
// answered or failed. A remote error, or a reply of another type than T, is each's err.
func ask[T any](ctx context.Context, f *fanout, to []peer.ID, msg any, timeout time.Duration, each func(peer.ID, T, string)) (refused int) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range to {
		wg.Go(func() {
			rctx, cancel := ctx, context.CancelFunc(func() {})
			if timeout > 0 {
				rctx, cancel = context.WithTimeout(ctx, timeout)
			}
			res, err := f.remote.Call(rctx, id, msg)
			cancel()
			r, ok := res.(T)
			msg := ""
			switch {
			case err != nil:
				msg = err.Error()
			case !ok:
				msg = fmt.Sprintf("unexpected reply %T", res)
			}
			mu.Lock()
			defer mu.Unlock()
			if errors.Is(err, api.ErrForbidden) {
				refused++
			}
			each(id, r, msg)
		})
	}
	wg.Wait()
	return refused
}

// refusedByAll is the error of a request every member asked refused (their trust policy:
// this peer is not in their trusted_peers), so that the caller answers 403 rather than a
// success made of errors; nil otherwise, or when no member was asked.
func refusedByAll(asked, refused int, self peer.ID, what string) error {
	if asked == 0 || refused < asked {
		return nil
	}
	return fmt.Errorf("%w: every other member refused %s: this peer (%s) is not in their consensus.crdt.trusted_peers", api.ErrForbidden, what, self)
}

// askStatus is ask for the replies that carry statuses (StatusRequest, RecoverRequest,
// RecoverAllRequest): a reply with an error, or with a count other than want (when want >= 0),
// is a failure too.
func askStatus(ctx context.Context, f *fanout, to []peer.ID, msg any, timeout time.Duration, want int, each func(id peer.ID, infos []api.PinInfo, err string)) (refused int) {
	return ask(ctx, f, to, msg, timeout, func(id peer.ID, r *messages.StatusResponse, err string) {
		switch {
		case err != "":
		case r == nil:
			err = "empty reply"
		case r.Error != "":
			err = r.Error
		case want >= 0 && len(r.Infos) != want:
			err = fmt.Sprintf("answered %d statuses for %d CIDs", len(r.Infos), want)
		}
		if err != "" {
			each(id, nil, err)
			return
		}
		for i := range r.Infos {
			r.Infos[i].Peer = id
		}
		each(id, r.Infos, "")
	})
}

// clusterError is the status of c on a member that could not tell it.
func (f *fanout) clusterError(id peer.ID, msg string) api.PinInfoShort {
	return api.PinInfoShort{PeerName: f.members.PeerName(id), Status: api.TrackerStatusClusterError, Error: msg, TS: nowUTC()}
}
