package statusdigest

// Run is one publisher's deltas of one epoch that a replica received and has not applied yet,
// coalesced: each CID's entry of the latest of them (entries are last writer wins by seq, so
// the replica would keep that one anyway) and the seq of every delta, each to be recorded as
// applied. A CID's pin_queued, pinning and pinned usually come in three deltas a moment
// apart; while the applier is busy they wait as one entry, and are written once. (A CID
// repeated within one delta, which no publisher sends, stays twice: the replica keeps the
// first, as it would from the delta alone.)
type Run struct {
	Epoch   uint64
	Seqs    []uint64
	Entries []Entry
	at      map[string]int // CID -> its index in Entries; built by the first Add
}

// NewRun starts a run with the delta d (not a heartbeat).
func NewRun(d Digest) *Run {
	return &Run{Epoch: d.Epoch, Seqs: []uint64{d.Seq}, Entries: d.Entries}
}

// Fresh is how many entries adding d would add: those of CIDs the run does not hold (Add
// returns it too).
func (r *Run) Fresh(d Digest) int {
	r.index()
	n := 0
	for _, e := range d.Entries {
		if _, ok := r.at[string(e.Cid)]; !ok {
			n++
		}
	}
	return n
}

// Add merges the delta d, of the run's epoch, into the run, and returns how many entries it
// added (Fresh).
func (r *Run) Add(d Digest) int {
	r.index()
	r.Seqs = append(r.Seqs, d.Seq)
	fresh := 0
	for _, e := range d.Entries {
		i, ok := r.at[string(e.Cid)]
		switch {
		case !ok:
			r.at[string(e.Cid)] = len(r.Entries)
			r.Entries = append(r.Entries, e)
			fresh++
		case e.Seq > r.Entries[i].Seq:
			r.Entries[i] = e
		}
	}
	return fresh
}

// index builds the run's CID index. The first delta's entries are copied first: they are the
// received digest's, which the run must not change.
func (r *Run) index() {
	if r.at != nil {
		return
	}
	r.Entries = append([]Entry(nil), r.Entries...)
	r.at = make(map[string]int, len(r.Entries))
	for i, e := range r.Entries {
		if j, ok := r.at[string(e.Cid)]; ok && r.Entries[j].Seq >= e.Seq {
			continue // a CID repeated within a delta: the first of the highest seq stays
		}
		r.at[string(e.Cid)] = i
	}
}
