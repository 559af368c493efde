package peer

import (
	"context"
	"log/slog"
	"time"

	"github.com/pincluster/pincluster/api/pinsvc"
	"github.com/pincluster/pincluster/persistence"
)

// startPinSvc builds and starts the IPFS Pinning Service API (api/pinsvc) over the peer's
// services and store, with the REST API's credentials.
func (p *Peer) startPinSvc(log *slog.Logger) error {
	s, err := pinsvc.New(p.cfg.API.PinSvcAPI, pinsvc.Deps{
		Pins: p.PinService, Status: p.StatusService, Index: pinsvcIndex{p.store}, Auth: p.rest, Peers: p.PeerService,
	}, log)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	p.pinsvc = s
	return nil
}

// stopPinSvc shuts the pinning service API down (nil when it never started).
func (p *Peer) stopPinSvc() error {
	if p.pinsvc == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.pinsvc.Shutdown(ctx)
}

// PinSvcURL is the pinning service API's base URL ("" without it).
func (p *Peer) PinSvcURL() string {
	if p.pinsvc == nil {
		return ""
	}
	return p.pinsvc.URL()
}

// pinsvcIndex is the store's request index (persistence/requests.go) as api/pinsvc sees it.
type pinsvcIndex struct{ s *persistence.Store }

func (x pinsvcIndex) Requests(ctx context.Context, before time.Time, fn func(pinsvc.RequestRef) error) error {
	return x.s.Requests(ctx, before, func(r persistence.RequestRef) error {
		return fn(pinsvc.RequestRef(r))
	})
}

func (x pinsvcIndex) Request(ctx context.Context, id string) ([]pinsvc.RequestRef, error) {
	refs, err := x.s.Request(ctx, id)
	out := make([]pinsvc.RequestRef, len(refs))
	for i, r := range refs {
		out[i] = pinsvc.RequestRef(r)
	}
	return out, err
}
