package peer

import (
	"log/slog"

	"github.com/pincluster/pincluster/api/pinsvc"
)

// startPinSvc builds and starts the IPFS Pinning Service API (api/pinsvc) over the peer's
// services and store, with the REST API's credentials.
func (p *Peer) startPinSvc(log *slog.Logger) error {
	s, err := pinsvc.New(p.cfg.API.PinSvcAPI, pinsvc.Deps{
		Pins: p.PinService, Status: p.StatusService, Index: p.store, Auth: p.rest, Peers: p.PeerService,
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

// PinSvcURL is the pinning service API's base URL ("" without it).
func (p *Peer) PinSvcURL() string {
	if p.pinsvc == nil {
		return ""
	}
	return p.pinsvc.URL()
}
