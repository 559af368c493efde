package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TrackerStatus is the state of a CID on one peer. It is a bitmask so that a filter can OR
// several statuses.
type TrackerStatus uint64

const (
	TrackerStatusUndefined TrackerStatus = 1 << iota
	TrackerStatusClusterError
	TrackerStatusPinError
	TrackerStatusUnpinError
	TrackerStatusPinned
	TrackerStatusPinning
	TrackerStatusUnpinning
	TrackerStatusUnpinned
	TrackerStatusRemote
	TrackerStatusPinQueued
	TrackerStatusUnpinQueued
	TrackerStatusSharded
	TrackerStatusUnexpectedlyUnpinned

	// Composite filters.
	TrackerStatusError  = TrackerStatusClusterError | TrackerStatusPinError | TrackerStatusUnpinError
	TrackerStatusQueued = TrackerStatusPinQueued | TrackerStatusUnpinQueued
)

var trackerStatusNames = []struct {
	s    TrackerStatus
	name string
}{
	{TrackerStatusUndefined, "undefined"},
	{TrackerStatusClusterError, "cluster_error"},
	{TrackerStatusPinError, "pin_error"},
	{TrackerStatusUnpinError, "unpin_error"},
	{TrackerStatusPinned, "pinned"},
	{TrackerStatusPinning, "pinning"},
	{TrackerStatusUnpinning, "unpinning"},
	{TrackerStatusUnpinned, "unpinned"},
	{TrackerStatusRemote, "remote"},
	{TrackerStatusPinQueued, "pin_queued"},
	{TrackerStatusUnpinQueued, "unpin_queued"},
	{TrackerStatusSharded, "sharded"},
	{TrackerStatusUnexpectedlyUnpinned, "unexpectedly_unpinned"},
}

// String is the status name (for a single status) or a comma list (for a mask).
func (s TrackerStatus) String() string {
	for _, n := range trackerStatusNames {
		if n.s == s {
			return n.name
		}
	}
	var parts []string
	for _, n := range trackerStatusNames {
		if s&n.s != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "undefined"
	}
	return strings.Join(parts, ",")
}

func (s TrackerStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *TrackerStatus) UnmarshalText(b []byte) error {
	v, err := ParseTrackerStatusFilter(string(b))
	*s = v
	return err
}

// Match reports whether s is one of the statuses in filter (0 matches everything).
func (s TrackerStatus) Match(filter TrackerStatus) bool {
	return filter == 0 || s&filter != 0
}

// ParseTrackerStatusFilter reads a comma list of status names (plus the composites "error" and
// "queued", and "unexpected_unpinned" as the seed docs spell it). "" means no filter (0).
func ParseTrackerStatusFilter(s string) (TrackerStatus, error) {
	var f TrackerStatus
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		switch part {
		case "":
			continue
		case "error":
			f |= TrackerStatusError
			continue
		case "queued":
			f |= TrackerStatusQueued
			continue
		case "unexpected_unpinned":
			f |= TrackerStatusUnexpectedlyUnpinned
			continue
		}
		found := false
		for _, n := range trackerStatusNames {
			if n.name == part {
				f |= n.s
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("%w: unknown status filter %q (valid: %s, error, queued)", ErrInvalid, part, validFilterNames())
		}
	}
	return f, nil
}

func validFilterNames() string {
	names := make([]string, len(trackerStatusNames))
	for i, n := range trackerStatusNames {
		names[i] = n.name
	}
	return strings.Join(names, ", ")
}

// PinInfoShort is one peer's view of a CID, the value of GlobalPinInfo.PeerMap.
type PinInfoShort struct {
	PeerName      string        `json:"peername"`
	IPFS          string        `json:"ipfs_peer_id,omitempty"`
	IPFSAddresses []string      `json:"ipfs_peer_addresses,omitempty"`
	Status        TrackerStatus `json:"status"`
	TS            time.Time     `json:"timestamp"`
	Error         string        `json:"error"`
	AttemptCount  int           `json:"attempt_count"`
	PriorityPin   bool          `json:"priority_pin"`
	// Updated is when this peer's part was last known current, for a status answered from the
	// replica of the peer's status digest (absent: asked of the peer just now).
	Updated time.Time `json:"updated,omitzero"`
}

// PinInfo is the status of a CID on one peer.
type PinInfo struct {
	Cid         Cid               `json:"cid"`
	Name        string            `json:"name"`
	Peer        peer.ID           `json:"peer"`
	Allocations []peer.ID         `json:"allocations"`
	Origins     []string          `json:"origins"`
	Created     time.Time         `json:"created"`
	Metadata    map[string]string `json:"metadata"`
	PinInfoShort
}

// GlobalPinInfo is the status of a CID on every peer allocated to it.
type GlobalPinInfo struct {
	Cid         Cid                     `json:"cid"`
	Name        string                  `json:"name"`
	Allocations []peer.ID               `json:"allocations"`
	Origins     []string                `json:"origins"`
	Created     time.Time               `json:"created"`
	Metadata    map[string]string       `json:"metadata"`
	PeerMap     map[string]PinInfoShort `json:"peer_map"`
}

// Add merges a peer's PinInfo into the global view.
func (g *GlobalPinInfo) Add(pi PinInfo) {
	if !g.Cid.Defined() {
		g.Cid, g.Name, g.Allocations, g.Origins, g.Created, g.Metadata = pi.Cid, pi.Name, pi.Allocations, pi.Origins, pi.Created, pi.Metadata
	}
	if g.PeerMap == nil {
		g.PeerMap = map[string]PinInfoShort{}
	}
	g.PeerMap[pi.Peer.String()] = pi.PinInfoShort
}

// Match reports whether any peer's status is in filter.
func (g GlobalPinInfo) Match(filter TrackerStatus) bool {
	if filter == 0 {
		return true
	}
	for _, p := range g.PeerMap {
		if p.Status.Match(filter) {
			return true
		}
	}
	return false
}
