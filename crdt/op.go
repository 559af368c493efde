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
// (Rank, Origin). Ops are immutable once created.
type Op struct {
	Origin peer.ID
	Seq    uint64
	Clock  HLC
	Kind   OpKind
	Cid    api.Cid
	// PinJSON is the JSON form of the api.Pin for OpPin; nil for OpUnpin. Keeping the JSON lets
	// listing write stored bytes without decoding them.
	PinJSON []byte
	// After is, for a conditional op, the rank of the record it was made from; zero for a
	// plain op. See Rank.
	After Rank
}

// Rank orders a CID's ops under last-writer-wins: by Base, then Depth (then, in Newer, by
// origin). A plain op ranks at its clock, depth 0.
//
// A conditional op is one the cluster makes on its own from a record it read: a repin that
// moves a pin off dead peers, the unpin of an expired pin. It ranks just above that record
// (After.Next()), so it replaces the record, and loses to every op made since the record
// whatever its clock. With a fresh clock instead, a repin made by the majority side of a
// partition won over an unpin the cut-off side acknowledged meanwhile, and the pin came back.
// Its Clock is its rank as a timestamp (Rank.Clock): a peer that does not know ranks (a
// version before them, which also drops After when it passes the op on) orders it alike, but
// against an op stamped on that very tick.
type Rank struct {
	Base  HLC
	Depth uint32
}

// Rank is the op's rank: its clock for a plain op, just above After for a conditional one.
func (o Op) Rank() Rank {
	if o.After.IsZero() {
		return Rank{Base: o.Clock}
	}
	return o.After.Next()
}

// IsZero reports whether r is the zero rank (a plain op's After).
func (r Rank) IsZero() bool { return r == Rank{} }

// Next is the rank just above r: that of a conditional op made from a record ranked r.
func (r Rank) Next() Rank { return Rank{Base: r.Base, Depth: r.Depth + 1} }

// Clock is r as a timestamp: Base, Depth logical ticks on.
func (r Rank) Clock() HLC { return r.Base + HLC(r.Depth) }

// Less reports whether r ranks below other.
func (r Rank) Less(other Rank) bool {
	if r.Base != other.Base {
		return r.Base < other.Base
	}
	return r.Depth < other.Depth
}

// Newer reports whether o wins over other under last-writer-wins: greater rank, and on equal
// ranks the greater origin ID. An op never wins over itself.
func (o Op) Newer(other Op) bool {
	if a, b := o.Rank(), other.Rank(); a != b {
		return b.Less(a)
	}
	return o.Origin > other.Origin
}
