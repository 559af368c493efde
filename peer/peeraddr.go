package peer

import (
	"fmt"
	"strings"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// CheckPeerAddr checks an address given on the command line (flag names it: "--peers",
// "--bootstrap") for another cluster peer: a multiaddress ending in /p2p/<peer ID>, the form the
// peerstore file and bootstrap dial need. An address without the peer ID cannot be dialled
// through the cluster's secured transport, and the peerstore skips it with only a log line, so a
// typo would leave a peer that starts as a cluster of one; the error says what to give instead.
func CheckPeerAddr(flag, a string) error {
	m, err := ma.NewMultiaddr(a)
	if err != nil {
		return fmt.Errorf("%s %q is not a multiaddress: %v", flag, a, err)
	}
	if _, err := libp2ppeer.AddrInfoFromP2pAddr(m); err != nil {
		return fmt.Errorf("%s %q does not name its peer: end it with /p2p/<peer ID> (see pincluster id on that peer)", flag, a)
	}
	return nil
}

// checkPeerAddrs checks every address of a comma-separated flag and returns them trimmed,
// without the blank entries a stray comma leaves.
func checkPeerAddrs(flag string, addrs []string) ([]string, error) {
	var out []string
	for _, a := range addrs {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if err := CheckPeerAddr(flag, a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
