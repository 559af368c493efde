package peer

import (
	"log/slog"

	"github.com/pincluster/pincluster/api/ipfsproxy"
)

// newIPFSProxy builds the IPFS proxy API (api/ipfsproxy) over the peer's services and IPFS
// node: with the kubo backend it forwards what it does not handle to Kubo.
func (p *Peer) newIPFSProxy(log *slog.Logger) (*ipfsproxy.Server, error) {
	fwd, err := p.cfg.API.IPFSProxy.ForwardTo(p.cfg.IPFS.Backend, p.cfg.IPFS.NodeMultiaddress)
	if err != nil {
		return nil, err
	}
	return ipfsproxy.New(p.cfg.API.IPFSProxy, ipfsproxy.Deps{
		Pins: p.PinService, Add: p.AddService, Health: p.HealthService, Node: ipfsproxy.BackendNode(p.ipfs),
		Version: Version, Forward: fwd, Guard: p.Services.Config().Refuse,
	}, log)
}

// IPFSProxyAddr is the bound IPFS proxy address ("" without it).
func (p *Peer) IPFSProxyAddr() string {
	if p.proxy == nil {
		return ""
	}
	return p.proxy.Addr().String()
}
