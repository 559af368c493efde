package syncer

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/pinset"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

// loadSnapshot applies the snapshot that first starts, page by page: each page is merged
// (ApplySnapshot), the local records of its key range that the responder had seen and no
// longer holds are removed (PruneAbsent), and at the end the version vector is raised to the
// pointwise minimum of the pages' vectors, which every page reflects. It returns the number of
// records applied. Records of untrusted origins are not applied, but the version vector is
// raised for every origin (their ops would be refused anyway, and leaving a trimmed range
// unclaimed would make every later pull load the snapshot again). An interrupted snapshot
// leaves the version vector as it was: the next pull starts over, and the pages already merged
// are harmless.
func (s *Syncer) loadSnapshot(ctx context.Context, from peer.ID, first *messages.SyncResponse) (int, error) {
	var floor map[peer.ID]uint64
	var after api.Cid
	resp := first
	total := 0
	for {
		pageVV, err := decodeVV(resp.SnapshotVV)
		if err != nil {
			return total, fmt.Errorf("snapshot from %s: %w", from, err)
		}
		var through api.Cid
		if resp.More {
			if through, err = api.DecodeCid(resp.Cursor); err != nil {
				return total, fmt.Errorf("snapshot from %s: cursor %q is not a CID: %w", from, resp.Cursor, err)
			}
		}
		n, err := s.applyPage(ctx, from, resp.Records, after, through, pageVV)
		total += n
		if err != nil {
			return total, err
		}
		floor = minVV(floor, pageVV)
		if !resp.More {
			break
		}
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
		after = through
		resp, err = s.request(ctx, from, &messages.SyncRequest{Limit: s.page, Cursor: resp.Cursor})
		if err != nil {
			return total, err
		}
		if !resp.Snapshot {
			return total, fmt.Errorf("snapshot from %s: continuation answered with ops, not a snapshot page", from)
		}
	}
	if err := s.writer.RaiseVersionVector(ctx, floor); err != nil {
		return total, fmt.Errorf("snapshot from %s: %w", from, err)
	}
	return total, nil
}

// applyPage has the pinset actor merge one page's records (keys in (after, through]) and
// prune that range.
func (s *Syncer) applyPage(ctx context.Context, from peer.ID, raw [][]byte, after, through api.Cid, vv map[peer.ID]uint64) (int, error) {
	present := make([]api.Cid, 0, len(raw))
	records := make([]persistence.Record, 0, len(raw))
	for _, b := range raw {
		op, err := crdt.UnmarshalOp(b)
		if err != nil {
			return 0, fmt.Errorf("snapshot from %s: %w", from, err)
		}
		if !inRange(op.Cid, after, through) {
			return 0, fmt.Errorf("snapshot from %s: record %s lies outside the page (%s, %s]", from, op.Cid, after, through)
		}
		present = append(present, op.Cid)
		if !s.trustOp(op) {
			continue
		}
		records = append(records, persistence.Record{Op: op, Deleted: op.Kind == crdt.OpUnpin})
	}
	page := &pinset.InstallSnapshotPage{Records: records, After: after, Through: through, Present: present, VV: vv}
	if err := s.writer.InstallSnapshotPage(ctx, page); err != nil {
		return 0, fmt.Errorf("snapshot from %s: %w", from, err)
	}
	return len(records), nil
}

// inRange reports whether c's key lies in (after, through] in the store's key order (binary
// CID order); an undefined bound is open.
func inRange(c, after, through api.Cid) bool {
	k := string(c.Bytes())
	return (!after.Defined() || k > string(after.Bytes())) && (!through.Defined() || k <= string(through.Bytes()))
}

// minVV is the pointwise minimum of two version vectors; an origin missing from either counts
// as 0 (and is left out). A nil acc is the identity.
func minVV(acc, vv map[peer.ID]uint64) map[peer.ID]uint64 {
	if acc == nil {
		out := make(map[peer.ID]uint64, len(vv))
		for o, n := range vv {
			out[o] = n
		}
		return out
	}
	for o, n := range acc {
		m, ok := vv[o]
		switch {
		case !ok || m == 0:
			delete(acc, o)
		case m < n:
			acc[o] = m
		}
	}
	return acc
}
