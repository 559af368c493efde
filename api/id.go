package api

import (
	"github.com/libp2p/go-libp2p/core/peer"
)

// IPFSID identifies the IPFS node behind a peer.
type IPFSID struct {
	ID        string   `json:"id"`
	Addresses []string `json:"addresses"`
	Error     string   `json:"error,omitempty"`
}

// ID describes a cluster peer (GET /id, and each item of GET /peers).
type ID struct {
	ID                    peer.ID   `json:"id"`
	Addresses             []string  `json:"addresses"`
	ClusterPeers          []peer.ID `json:"cluster_peers"`
	ClusterPeersAddresses []string  `json:"cluster_peers_addresses"`
	Version               string    `json:"version"`
	Commit                string    `json:"commit"`
	RPCProtocolVersion    string    `json:"rpc_protocol_version"`
	Error                 string    `json:"error"`
	IPFS                  IPFSID    `json:"ipfs"`
	Peername              string    `json:"peername"`
}

// Version is the body of GET /version.
type Version struct {
	Version string `json:"version"`
}

// IPFSRepoGC is the result of a repo gc on one peer.
type IPFSRepoGC struct {
	Peer     peer.ID  `json:"peer"`
	Peername string   `json:"peername"`
	Keys     []string `json:"keys"`
	Error    string   `json:"error,omitempty"`
}

// GlobalRepoGC is the result of POST /ipfs/gc: one entry per peer ID.
type GlobalRepoGC struct {
	PeerMap map[string]IPFSRepoGC `json:"peer_map"`
}

// Metric is a value a peer publishes about itself, valid until Expire (unix nanoseconds).
type Metric struct {
	Name          string  `json:"name"`
	Peer          peer.ID `json:"peer"`
	Value         string  `json:"value"`
	Expire        int64   `json:"expire"`
	Valid         bool    `json:"valid"`
	Weight        int64   `json:"weight"`
	Partitionable bool    `json:"partitionable"`
	ReceivedAt    int64   `json:"received_at"`
}

// Alert is raised when a metric expires.
type Alert struct {
	Metric
	TriggeredAt int64 `json:"triggered_at"`
}

// ConnectGraph is the body of GET /health/graph: who sees whom.
type ConnectGraph struct {
	ClusterID     peer.ID              `json:"cluster_id"`
	IDtoPeername  map[string]string    `json:"id_to_peername"`
	ClusterLinks  map[string][]peer.ID `json:"cluster_links"`
	ClustertoIPFS map[string]string    `json:"cluster_to_ipfs"`
	IPFSLinks     map[string][]string  `json:"ipfs_links"`
}
