package syncer

import (
	"context"
	"errors"
	"math"
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// Held ranges: a pull sends only what the requester lacks.
//
// The version vector counts an origin's ops only up to the first gap (persistence.Apply stores
// and applies ops after a gap at once). A gossiped batch that was dropped leaves such a gap,
// and a pull that sent the vector alone was answered with the gap and every op after it,
// which the requester mostly held already: during a batch ingest replicas pulled tens of
// thousands of ops they had. So the request also lists, per origin, the ranges stored above
// the vector (SyncRequest.Held, at most maxHeldPerOrigin per origin and MaxHeldRanges in
// all; a longer list is cut, which only costs a resend), and the responder reads its log only
// in the holes between them and after the last one.
//
// Ops already received but still queued in the pinset's mailbox are not in the store yet:
// Pull first waits for the pinset to apply them (an empty ApplyRemoteWait is a barrier: the
// pinset answers requests in order), then reads what it holds.

// maxHeldPerOrigin bounds the ranges sent for one origin, so that one origin with a ragged
// log does not crowd out the others.
const maxHeldPerOrigin = 64

// heldRanges lists the ranges the store holds above vv, origin by origin, after out (the
// streams' tails, streams.go).
func heldRanges(ctx context.Context, store Store, vv map[peer.ID]uint64, out []messages.SeqRange) ([]messages.SeqRange, error) {
	for origin, contig := range vv {
		room := min(maxHeldPerOrigin, messages.MaxHeldRanges-len(out))
		if room <= 0 || contig == math.MaxUint64 {
			break
		}
		rs, err := store.HeldAbove(ctx, origin, contig, room)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			out = append(out, messages.SeqRange{Origin: origin.String(), From: r.From, To: r.To})
		}
	}
	return out, nil
}

// heldByOrigin groups a request's ranges by origin, sorted by From, dropping malformed ones
// (from 0, or from after to) and at most MaxHeldRanges in all: they come from another peer.
func heldByOrigin(rs []messages.SeqRange) map[string][]messages.SeqRange {
	if len(rs) == 0 {
		return nil
	}
	out := map[string][]messages.SeqRange{}
	for _, r := range rs[:min(len(rs), messages.MaxHeldRanges)] {
		if r.From == 0 || r.From > r.To {
			continue
		}
		out[r.Origin] = append(out[r.Origin], r)
	}
	for _, l := range out {
		slices.SortFunc(l, func(a, b messages.SeqRange) int {
			switch {
			case a.From < b.From:
				return -1
			case a.From > b.From:
				return 1
			}
			return 0
		})
	}
	return out
}

// errSegmentEnd stops reading a hole of the log at its end.
var errSegmentEnd = errors.New("end of segment")

// missingOps calls fn with origin's stored ops above theirs that are not in held (sorted by
// From, possibly overlapping), in seq order: it reads the log only in the holes.
func missingOps(ctx context.Context, store Store, origin peer.ID, theirs uint64, held []messages.SeqRange, fn func(crdt.Op) error) error {
	if theirs == math.MaxUint64 {
		return nil
	}
	from := theirs + 1
	for _, r := range held {
		if r.To < from {
			continue
		}
		if r.From > from {
			if err := opsBetween(ctx, store, origin, from, r.From-1, fn); err != nil {
				return err
			}
		}
		if r.To == math.MaxUint64 {
			return nil
		}
		from = r.To + 1
	}
	return opsBetween(ctx, store, origin, from, math.MaxUint64, fn)
}

// opsBetween calls fn with origin's stored ops of seqs from..to.
func opsBetween(ctx context.Context, store Store, origin peer.ID, from, to uint64, fn func(crdt.Op) error) error {
	err := store.OpsFrom(ctx, origin, from, func(op crdt.Op) error {
		if op.Seq > to {
			return errSegmentEnd
		}
		return fn(op)
	})
	if errors.Is(err, errSegmentEnd) {
		return nil
	}
	return err
}
