package faults

import (
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// gater refuses dials to, and secured inbound connections from, the blocked peers.
type gater struct{ f *Faults }

var _ connmgr.ConnectionGater = gater{}

// Gater is the libp2p connection gater of the partition fault.
func (f *Faults) Gater() connmgr.ConnectionGater { return gater{f} }

func (g gater) InterceptPeerDial(p peer.ID) bool { return !g.f.blocked(p) }

func (g gater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !g.f.blocked(p) }

func (g gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.f.blocked(p)
}

func (g gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
