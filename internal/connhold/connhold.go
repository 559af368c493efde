// Package connhold keeps connections from libp2p's connection manager's trimming while an
// operation uses them (a block push, a fetch from a pin's sources). The manager's protection is
// per (peer, tag) and not counted, so every hold takes a tag of its own: two operations on one
// peer never lift each other's.
package connhold

import (
	"fmt"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Holds numbers the holds of one owner; its zero value is ready.
type Holds struct{ n atomic.Uint64 }

// Hold protects the connections to ids on cm under the tag "<kind>/<n>" until release is
// called.
func (h *Holds) Hold(cm connmgr.ConnManager, kind string, ids ...peer.ID) (release func()) {
	tag := fmt.Sprintf("%s/%d", kind, h.n.Add(1))
	for _, id := range ids {
		cm.Protect(id, tag)
	}
	return func() {
		for _, id := range ids {
			cm.Unprotect(id, tag)
		}
	}
}
