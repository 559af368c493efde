package statusdigest

import (
	"bytes"
	"context"
	"log/slog"
	"time"

	"github.com/pincluster/pincluster/api"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// writeOwn stores a batch of own-digest changes (persistence.WriteOwnDigest with since) and
// publishes the delta; it returns the version published (0: none). It blocks.
type writeOwn func(batch []sd.Entry, since time.Time) (uint64, error)

// storeAndPublish is one write of the own digest: changes stored, and what differed published
// (seq: its version; 0: none). lost: the changes were not stored. Only the actor's writer slot
// calls it, so deltas are published in seq order.
func storeAndPublish(ctx context.Context, deps Deps, changes []sd.Entry, since time.Time) (seq uint64, lost bool, err error) {
	d, err := deps.Store.WriteOwnDigest(changes, since)
	if err != nil || len(d.Entries) == 0 {
		return 0, err != nil, err
	}
	if err := publish(ctx, deps.Topic, d); err != nil {
		return 0, false, err
	}
	return d.Seq, false, nil
}

// reconcile brings the own digest in line with a local status pass and publishes the
// differences, a batch of at most sd.MaxEntries and sd.MaxBatchBytes at a time through write. The pass and the own
// entries are both in binary CID order and are merge-joined: the own entries are read a page
// at a time (the pass's callback cannot hold an iterator open across the writes), so memory
// stays bounded whatever the pinset's size. Timestamps alone do not make a difference (the
// pass stamps settled pins with its own time). It blocks, and does not hold the writer: the
// actor writes each batch in its slot, between the tracker's deltas (which a reconcile waiting
// for its turn or for the IPFS node must not hold back). It returns how many pins it kept as
// they were because the IPFS node did not answer for them.
func reconcile(ctx context.Context, deps Deps, log *slog.Logger, write writeOwn) (kept int, err error) {
	leave, err := deps.Passes.Enter(ctx)
	if err != nil {
		return 0, err
	}
	defer leave()
	since := time.Now()
	var batch []sd.Entry
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := write(batch, since)
		batch, size = batch[:0], 0
		return err
	}
	add := func(e sd.Entry) error {
		if size += e.Size(); size > sd.MaxBatchBytes {
			if err := flush(); err != nil {
				return err
			}
			size = e.Size()
		}
		batch = append(batch, e)
		if len(batch) == sd.MaxEntries {
			return flush()
		}
		return nil
	}
	own := &ownCursor{store: deps.Store}
	changed := 0
	err = deps.Local.LocalDigest(ctx, func(c []byte, st api.PinInfoShort) error {
		// Own entries before c are gone from the pass: no longer pinned or allocated here.
		for {
			e, ok, err := own.peek()
			if err != nil {
				return err
			}
			if !ok || bytes.Compare(e.Cid, c) >= 0 {
				break
			}
			own.next()
			changed++
			if err := add(sd.Entry{Cid: e.Cid}); err != nil {
				return err
			}
		}
		if st.Status == api.TrackerStatusClusterError {
			kept++
			own.skip(c) // the IPFS node did not answer: keep what is known
			return nil
		}
		want := sd.FromShort(append([]byte{}, c...), st)
		have, found, err := own.take(c)
		if err != nil {
			return err
		}
		if (!found && want.ShownByAbsence()) || (found && sameIgnoringTime(have, want)) {
			return nil
		}
		changed++
		return add(want)
	})
	if err != nil {
		return kept, err
	}
	for { // own entries after the last pin of the pass
		e, ok, err := own.peek()
		if err != nil {
			return kept, err
		}
		if !ok {
			break
		}
		own.next()
		changed++
		if err := add(sd.Entry{Cid: e.Cid}); err != nil {
			return kept, err
		}
	}
	if err := flush(); err != nil {
		return kept, err
	}
	if changed > 0 {
		log.Debug("statusdigest: reconciled the own digest with a local status pass", "changes", changed)
	}
	return kept, nil
}

func sameIgnoringTime(a, b sd.Entry) bool {
	return a.Status == b.Status && a.Error == b.Error && a.Attempts == b.Attempts && a.Priority == b.Priority
}

// ownCursor walks the own digest in CID order a page at a time.
type ownCursor struct {
	store Store
	page  []sd.Entry
	after []byte
	done  bool
}

func (o *ownCursor) fill() error {
	for len(o.page) == 0 && !o.done {
		pg, err := o.store.OwnDigestPage(o.after, 1024)
		if err != nil {
			return err
		}
		o.page, o.done = pg.Entries, !pg.More
		if len(pg.Entries) > 0 {
			o.after = pg.Entries[len(pg.Entries)-1].Cid
		}
	}
	return nil
}

func (o *ownCursor) peek() (sd.Entry, bool, error) {
	if err := o.fill(); err != nil || len(o.page) == 0 {
		return sd.Entry{}, false, err
	}
	return o.page[0], true, nil
}

func (o *ownCursor) next() { o.page = o.page[1:] }

// take returns and consumes the own entry of c (the cursor is at or before c).
func (o *ownCursor) take(c []byte) (sd.Entry, bool, error) {
	e, ok, err := o.peek()
	if err != nil || !ok || !bytes.Equal(e.Cid, c) {
		return sd.Entry{}, false, err
	}
	o.next()
	return e, true, nil
}

// skip consumes the own entry of c if the cursor is on it.
func (o *ownCursor) skip(c []byte) { _, _, _ = o.take(c) }
