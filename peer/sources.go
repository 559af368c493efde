package peer

import (
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/persistence"
)

// pinSources names the peers likely to hold a pin's blocks, for the embedded node to dial
// before it fetches them (embedded.Config.Sources): the pin's allocations, and the peer whose
// op wrote its record (the one that took the pin, where an add's blocks are). In a full mesh
// they are all connected already and this costs one record read per pin attempt.
func pinSources(store *persistence.Store) func(api.Cid) []libp2ppeer.ID {
	return func(c api.Cid) []libp2ppeer.ID {
		rec, found, err := store.Get(c)
		if err != nil {
			return nil
		}
		pin, ok, err := persistence.LivePin(c, rec, found)
		if err != nil || !ok {
			return nil
		}
		return append([]libp2ppeer.ID{rec.Op.Origin}, pin.Allocations...)
	}
}
