package messages

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
)

// VersionAnnouncement is a peer's version vector as it announces it on the versions topic
// (actors/syncer/announce.go): whole (Full), or the entries that changed since its previous
// announcement (seq 0: the origin is gone), with the Sum of the whole vector after them. No
// entries and not Full: a heartbeat (nothing changed). The announcer is the pubsub message's
// signer; actors/gossip converts the wire form.
type VersionAnnouncement struct {
	Full    bool
	Sum     [crdt.SumSize]byte
	Entries map[peer.ID]uint64
}
