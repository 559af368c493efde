package syncer

import (
	"context"
	"fmt"
	"time"

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
// leaves the version vector as it was: the next pull from that peer resumes after the last
// page installed (loadSnapshotFrom), and pages merged twice are harmless.
func (s *Syncer) loadSnapshot(ctx context.Context, from peer.ID, first *messages.SyncResponse) (int, error) {
	return s.loadSnapshotFrom(ctx, from, first, api.Cid{}, nil, time.Now())
}

// loadSnapshotFrom is loadSnapshot from the page first that follows after, with floor the
// pointwise minimum of the vectors of the pages installed before it (nil: none), of a snapshot
// begun at started. When it fails after installing pages, it keeps where it stopped
// (resume.go), so the next pull from the same peer goes on from there instead of from the
// first page.
func (s *Syncer) loadSnapshotFrom(ctx context.Context, from peer.ID, first *messages.SyncResponse, after api.Cid, floor map[peer.ID]uint64, started time.Time) (total int, err error) {
	defer func() {
		if err != nil && floor != nil {
			s.keepResume(from, after, floor, started)
		}
	}()
	leave, err := s.transfers.Enter(ctx) // after the defer: a resumed snapshot that waits in vain keeps its place
	if err != nil {
		return 0, err
	}
	defer leave()
	ctx, cancel := context.WithCancel(ctx) // ends a prefetch still running when this returns
	defer cancel()
	pg := s.decodePage(from, first, after)
	for {
		if pg.err != nil {
			return total, pg.err
		}
		var next <-chan fetchedPage
		if pg.more {
			next = s.prefetch(ctx, from, pg.install.Through)
		}
		if err := s.writer.InstallSnapshotPage(ctx, pg.install); err != nil {
			return total, fmt.Errorf("snapshot from %s: %w", from, err)
		}
		total += len(pg.install.Records)
		floor = minVV(floor, pg.install.VV)
		if !pg.more {
			break
		}
		after = pg.install.Through
		pg = <-next
	}
	if err := s.writer.RaiseVersionVector(ctx, floor); err != nil {
		return total, fmt.Errorf("snapshot from %s: %w", from, err)
	}
	floor = nil // done: nothing to resume
	return total, nil
}

// fetchedPage is one page of a snapshot, decoded and checked, ready to install (or err).
type fetchedPage struct {
	install *pinset.InstallSnapshotPage
	more    bool // pages follow (the next starts after install.Through)
	err     error
}

// prefetch asks for the snapshot page after cursor and decodes it while the current one is
// installed: the responder reads and sends a page, and this peer decodes it, while the
// previous page is written, so the store's writes are the only serial step (a fresh peer's
// catch-up is hundreds of pages). The request is bounded by ctx; the buffered reply never
// blocks if nobody reads it.
func (s *Syncer) prefetch(ctx context.Context, from peer.ID, after api.Cid) <-chan fetchedPage {
	ch := make(chan fetchedPage, 1)
	go func() {
		resp, err := s.request(ctx, from, &messages.SyncRequest{Limit: s.page, Cursor: after.String()})
		switch {
		case err != nil:
			ch <- fetchedPage{err: err}
		case !resp.Snapshot:
			ch <- fetchedPage{err: fmt.Errorf("snapshot from %s: continuation answered with ops, not a snapshot page", from)}
		default:
			ch <- s.decodePage(from, resp, after)
		}
	}()
	return ch
}

// decodePage decodes one snapshot page whose keys lie after after: its records (those of
// untrusted origins left out, but counted as present), its key range and version vector.
func (s *Syncer) decodePage(from peer.ID, resp *messages.SyncResponse, after api.Cid) fetchedPage {
	fail := func(format string, a ...any) fetchedPage {
		return fetchedPage{err: fmt.Errorf("snapshot from %s: %s", from, fmt.Sprintf(format, a...))}
	}
	vv, err := decodeVV(resp.SnapshotVV)
	if err != nil {
		return fail("%v", err)
	}
	var through api.Cid
	if resp.More {
		if through, err = api.DecodeCid(resp.Cursor); err != nil {
			return fail("cursor %q is not a CID: %v", resp.Cursor, err)
		}
	}
	present := make([]api.Cid, 0, len(resp.Records))
	records := make([]persistence.Record, 0, len(resp.Records))
	for _, b := range resp.Records {
		op, err := crdt.UnmarshalOp(b)
		if err != nil {
			return fail("%v", err)
		}
		if !inRange(op.Cid, after, through) {
			return fail("record %s lies outside the page (%s, %s]", op.Cid, after, through)
		}
		present = append(present, op.Cid)
		if !s.trustOp(op) {
			continue
		}
		records = append(records, persistence.Record{Op: op, Deleted: op.Kind == crdt.OpUnpin})
	}
	install := &pinset.InstallSnapshotPage{Records: records, After: after, Through: through, Present: present, VV: vv}
	return fetchedPage{install: install, more: resp.More}
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
