package cluster

import (
	"fmt"

	"github.com/pincluster/pincluster/api"
)

// Followers (cluster.follower_mode, `pincluster follow`), as IPFS Cluster's follower peers:
// a follower replicates the pinset (gossip and anti-entropy pulls, both "read" in the RPC
// policy) and pins what it is allocated, but changes nothing of the cluster's.
//
// Decisions:
//   - The follower refuses its own writes here, in the services, before anything is checked
//     or stored: pin, unpin, pin update, path pins, add and peers rm (the REST API, the IPFS
//     proxy and the pinning service API all come through these methods; batch ingest through
//     peer.Ingest, which checks Refuse too). The error wraps api.ErrForbidden (HTTP 403) and
//     starts with "this peer is a follower". Reads, local recover and status work.
//   - The trusted peers are the cluster's guard, not the follower: a follower should not be in
//     their consensus.crdt.trusted_peers, so its ops and its trusted calls are refused there
//     whatever it runs (the trust rules of roster/ and the policy of cluster/rpcwire). With
//     trusted_peers ["*"] every holder of the secret is trusted, followers included: a
//     cluster with followers lists its trusted peers.
//   - Allocation: a follower publishes its metrics with a "follower" metric, and allocators
//     leave such peers out of the ranked choice; they are allocated only when the trusted peers
//     ask for them (user allocations, --allocations) or pin everywhere (replication -1, empty
//     allocations, which every peer pins). So a follower that joins does not pull pins away
//     from the trusted peers, which is what IPFS Cluster's collaborative clusters do with
//     replication -1 pins. This relies on the follower telling the truth; a peer that hides
//     it only gets allocations, never the power to change the pinset.
//   - A follower does not repin for others nor unpin expired pins (its healer only reconciles
//     its own allocations), and does not answer a trusted peer's IPFS GC (rpcwire's follower
//     policy), as IPFS Cluster's follower closes RepoGCLocal.

// Refuse is the follower's answer to a write (op names it, e.g. "pin"); nil on other peers.
func (c Config) Refuse(op string) error {
	if !c.Follower {
		return nil
	}
	return fmt.Errorf("%w: this peer is a follower: it cannot %s (follower_mode is set; send writes to a trusted peer of the cluster)", api.ErrForbidden, op)
}

// Config is the configuration the services were built with (peer.Ingest asks Refuse of it).
func (s *Services) Config() Config { return s.PinService.d.Config }
