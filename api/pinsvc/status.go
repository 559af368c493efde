package pinsvc

import (
	"context"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"sort"
	"strings"

	"github.com/pincluster/pincluster/api"
)

// maxDelegates is the spec's maxItems of delegates.
const maxDelegates = 20

// maxDetails bounds info.status_details.
const maxDetails = 2048

// clusterStatus derives a request's status from its CID's cluster-wide status:
//   - pinned when some peer has it pinned (the content is held; errors on other peers are
//     reported in info but do not hide that);
//   - else pinning when some peer is fetching it;
//   - else queued when some peer has it queued or unexpectedly_unpinned (what a peer reports
//     between the commit and its tracker queueing the pin, and what the tracker recovers), or
//     no peer reports an error;
//   - else failed: the peers that report something report an error (pin_error, cluster_error).
//
// delegates are the IPFS node multiaddrs of the peers that hold or fetch the pin (each ending
// in /p2p/<IPFS peer ID>); info.status_details lists every peer's status and error.
// addrsOf, when not nil, gives the IPFS addresses of a peer (by its key in the peer map) whose
// status carries none.
func clusterStatus(g api.GlobalPinInfo, addrsOf func(peerKey string) []string) (status string, delegates []string, info map[string]string) {
	var pinned, pinning, queued, failed int
	keys := make([]string, 0, len(g.PeerMap))
	for k := range g.PeerMap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var details []string
	var active, all []string
	for _, k := range keys {
		pi := g.PeerMap[k]
		holds := true
		switch {
		case pi.Status&api.TrackerStatusPinned != 0:
			pinned++
		case pi.Status&api.TrackerStatusPinning != 0:
			pinning++
		case pi.Status&(api.TrackerStatusPinQueued|api.TrackerStatusUnexpectedlyUnpinned|api.TrackerStatusUndefined) != 0:
			// unexpectedly_unpinned: in the pinset, allocated here, not (yet) on the node, which
			// is also what a peer reports between the commit and its tracker queueing the pin
			queued++
		case pi.Status&api.TrackerStatusError != 0:
			failed++
			holds = false
		default:
			holds = false
		}
		name := pi.PeerName
		if name == "" {
			name = k
		}
		d := name + ": " + pi.Status.String()
		if pi.Error != "" {
			d += " (" + pi.Error + ")"
		}
		details = append(details, d)
		if len(pi.IPFSAddresses) == 0 && addrsOf != nil {
			pi.IPFSAddresses = addrsOf(k)
		}
		addrs := ipfsAddrs(pi)
		all = append(all, addrs...)
		if holds {
			active = append(active, addrs...)
		}
	}
	switch {
	case pinned > 0:
		status = StatusPinned
	case pinning > 0:
		status = StatusPinning
	case queued > 0 || failed == 0:
		status = StatusQueued
	default:
		status = StatusFailed
	}
	if len(active) == 0 {
		active = all // nobody holds it yet: the allocated peers' nodes will
	}
	delegates = []string{}
	for _, a := range active {
		if !slices.Contains(delegates, a) && len(delegates) < maxDelegates {
			delegates = append(delegates, a)
		}
	}
	info = map[string]string{}
	if len(details) > 0 {
		s := strings.Join(details, "; ")
		if len(s) > maxDetails {
			s = s[:maxDetails] + "..."
		}
		info["status_details"] = s
	}
	return status, delegates, info
}

// ipfsAddrs are a peer's IPFS node addresses, each ending in /p2p/<its IPFS peer ID>; those
// that do not make a valid p2p address are left out (Kubo's client fails on a delegate it
// cannot read).
func ipfsAddrs(pi api.PinInfoShort) []string {
	out := make([]string, 0, len(pi.IPFSAddresses))
	for _, a := range pi.IPFSAddresses {
		if pi.IPFS != "" && !strings.Contains(a, "/p2p/") && !strings.Contains(a, "/ipfs/") {
			a += "/p2p/" + pi.IPFS
		}
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			continue
		}
		if _, err := peer.AddrInfoFromP2pAddr(m); err != nil {
			continue
		}
		out = append(out, a)
	}
	return out
}

// peerAddrsTTL is how long the membership's IPFS addresses are reused.
const peerAddrsTTL = 30 * time.Second

// peerAddrs are the IPFS addresses of the cluster's peers by peer ID, from the membership,
// asked again when older than peerAddrsTTL (nil without a membership or when it fails).
func (s *Server) peerAddrs(ctx context.Context) map[string][]string {
	if s.d.Peers == nil {
		return nil
	}
	s.addrsMu.Lock()
	defer s.addrsMu.Unlock()
	if s.addrs != nil && time.Since(s.addrsAt) < peerAddrsTTL {
		return s.addrs
	}
	m := map[string][]string{}
	err := s.d.Peers.Peers(ctx, func(id api.ID) error {
		if id.Error == "" && len(id.IPFS.Addresses) > 0 {
			m[id.ID.String()] = id.IPFS.Addresses
		}
		return nil
	})
	if err != nil {
		s.log.Debug("listing the peers' IPFS addresses for delegates", "err", err)
		return s.addrs
	}
	s.addrs, s.addrsAt = m, time.Now()
	return m
}
