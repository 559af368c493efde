package pinsvc

import (
	"slices"

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
//   - else queued when some peer has it queued, or no peer reports an error (just committed,
//     not yet seen by a tracker);
//   - else failed: every peer that reports something reports an error.
//
// delegates are the IPFS node multiaddrs of the peers that hold or fetch the pin (each ending
// in /p2p/<IPFS peer ID>); info.status_details lists every peer's status and error.
func clusterStatus(g api.GlobalPinInfo) (status string, delegates []string, info map[string]string) {
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
		case pi.Status&api.TrackerStatusPinQueued != 0:
			queued++
		case pi.Status&(api.TrackerStatusError|api.TrackerStatusUnexpectedlyUnpinned) != 0:
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
