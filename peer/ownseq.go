package peer

import (
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/offlinestate"
)

// ownSeqMark is the pinset's own-seq check (actors/pinset ownseq.go): the mark kept in dir,
// saved there, and held to when other members may hold this peer's ops: its peerstore names
// peers, or it was given bootstrap addresses (offlinestate.OwnSeqFloor). A peer with neither
// is a cluster of one.
func ownSeqMark(dir string, id libp2ppeer.ID, bootstrap []string) (pinset.OwnSeqMark, error) {
	floor, others, err := offlinestate.OwnSeqFloor(dir, id, bootstrap)
	if err != nil {
		return pinset.OwnSeqMark{}, err
	}
	return pinset.OwnSeqMark{Floor: floor, Gate: others,
		Save: func(seq uint64) error { return offlinestate.SaveOwnSeq(dir, id, seq) }}, nil
}
