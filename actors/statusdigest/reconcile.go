package statusdigest

import (
	"bytes"
	"context"
	"log/slog"
	"time"

	"github.com/pincluster/pincluster/api"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// reconcile brings the own digest in line with a local status pass and publishes the
// differences, a delta of at most sd.MaxEntries at a time. The pass and the own entries are
// both in binary CID order and are merge-joined: the own entries are read a page at a time
// (the pass's callback cannot hold an iterator open across the writes), so memory stays
// bounded whatever the pinset's size. Timestamps alone do not make a difference (the pass
// stamps settled pins with its own time). It blocks; it runs in the writer's slot. It returns
// the last version it published (0: none) and how many pins it kept as they were because the
// IPFS node did not answer for them.
func reconcile(ctx context.Context, deps Deps, log *slog.Logger) (published uint64, kept int, err error) {
	leave, err := deps.Passes.Enter(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer leave()
	since := time.Now()
	var batch []sd.Entry
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		d, err := deps.Store.WriteOwnDigest(batch, since)
		batch = batch[:0]
		if err != nil || len(d.Entries) == 0 {
			return err
		}
		if err := publish(ctx, deps.Topic, d); err != nil {
			return err
		}
		published = d.Seq
		return nil
	}
	add := func(e sd.Entry) error {
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
		return published, kept, err
	}
	for { // own entries after the last pin of the pass
		e, ok, err := own.peek()
		if err != nil {
			return published, kept, err
		}
		if !ok {
			break
		}
		own.next()
		changed++
		if err := add(sd.Entry{Cid: e.Cid}); err != nil {
			return published, kept, err
		}
	}
	if err := flush(); err != nil {
		return published, kept, err
	}
	if changed > 0 {
		log.Debug("statusdigest: reconciled the own digest with a local status pass", "changes", changed)
	}
	return published, kept, nil
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
