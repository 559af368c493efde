package crdt

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// OpKind is what an op does to its CID.
type OpKind uint8

const (
	// OpPin adds or replaces the pin of a CID.
	OpPin OpKind = 1
	// OpUnpin removes it, leaving a tombstone that wins over older pins.
	OpUnpin OpKind = 2
)

// Op is one change to the replicated pinset. Every origin numbers its ops 1, 2, 3... (Seq) and
// stamps them with its hybrid logical clock; the pinset keeps, per CID, the op with the greatest
// (Clock, Origin). Ops are immutable once created.
type Op struct {
	Origin peer.ID
	Seq    uint64
	Clock  HLC
	Kind   OpKind
	Cid    api.Cid
	// PinJSON is the JSON form of the api.Pin for OpPin; nil for OpUnpin. Keeping the JSON lets
	// listing write stored bytes without decoding them.
	PinJSON []byte
}

// Newer reports whether o wins over other under last-writer-wins: greater clock, and on equal
// clocks the greater origin ID. An op never wins over itself.
func (o Op) Newer(other Op) bool {
	if o.Clock != other.Clock {
		return o.Clock > other.Clock
	}
	return o.Origin > other.Origin
}
