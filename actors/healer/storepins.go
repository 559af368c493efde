package healer

import (
	"context"
	"encoding/json"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/persistence"
)

// StorePins is Pins over the pinset store, for the peer Self.
type StorePins struct {
	Store *persistence.Store
	Self  peer.ID
}

var _ Pins = StorePins{}

func (s StorePins) IteratePins(ctx context.Context, keep func([]byte) bool, fn func(api.Pin, crdt.Rank) error) error {
	return s.Store.IteratePinsWhere(ctx, keep, fn)
}

func (s StorePins) PinsRaw(ctx context.Context, fn func(cid, pinJSON []byte, rank crdt.Rank) error) error {
	return s.Store.PinsRanked(ctx, fn)
}

// Placement counts an unheld tombstone as no record: the cluster never pinned c on this
// peer's node for it (persistence's tombstones.go).
func (s StorePins) Placement(c api.Cid) (found, here bool, err error) {
	rec, found, err := s.Store.Get(c)
	if err != nil || !found || rec.Unheld {
		return found && !rec.Unheld, false, err
	}
	return true, !rec.Deleted && s.allocatedHere(rec), nil
}

// allocatedHere reports whether a live record's pin is allocated to Self.
func (s StorePins) allocatedHere(rec persistence.Record) bool {
	var pin api.Pin
	if err := json.Unmarshal(rec.Op.PinJSON, &pin); err != nil {
		return true // undecodable: leave the IPFS pin alone
	}
	return pin.AllocatedTo(s.Self)
}
