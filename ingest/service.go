package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// ChunkLines is the number of lines per chunk (one lookup, one allocation snapshot and one
// group commit each). It matches the pinset's largest group commit (maxWriteBatch).
const ChunkLines = 4096

// snapshotChunks is how many chunks one store snapshot serves before it is renewed: a
// snapshot keeps the versions it sees from compaction, so a long run renews it (about every
// 64k lines), and renewing waits for the commits in flight, so not at every chunk.
const snapshotChunks = 16

// snapshotAge is the age after which a snapshot is renewed whatever the chunks it served.
const snapshotAge = time.Second

// Config are the cluster defaults a line's options fall back on.
type Config struct {
	ReplicationFactorMin, ReplicationFactorMax int
}

// Service runs batches. It holds no state between runs and is safe for concurrent use.
type Service struct {
	deps Deps
	cfg  Config
	now  func() time.Time
}

// New returns a service over deps.
func New(deps Deps, cfg Config) *Service {
	return &Service{deps: deps, cfg: cfg, now: time.Now}
}

// Request is one batch: what to do, and the command-line options of its lines.
type Request struct {
	Op       api.BatchOp
	Defaults api.PinOptions
}

// Run reads body to its end and applies each line, calling emit with each failed line and,
// after each commit, with the lines now durable; the last event (Done) has the totals. emit is
// called from Run's goroutine only. An error of emit (the client went away) or of the store
// ends the run; what was acknowledged before stays.
func (s *Service) Run(ctx context.Context, body io.Reader, req Request, emit func(api.BatchEvent) error) (api.BatchEvent, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan chunk, 1)
	parked := newHandoff()
	go readChunks(ctx, NewReader(body, req.Defaults), chunks, parked)

	var sum api.BatchEvent
	snap, snapAt := s.deps.Snapshot(), s.now()
	defer func() { snap.Discard() }()
	view := newRunView()
	chunksRead := 0
	var pending *commitRun // the commit in flight
	var acked func(error) error
	// finish waits for the commit in flight, if any, and acknowledges its lines.
	finish := func() error {
		if pending == nil {
			return nil
		}
		err := <-pending.done
		return acked(err)
	}
	acked = func(err error) error {
		p := pending
		pending = nil
		if err != nil {
			return err
		}
		sum.OK += p.ok
		sum.Through = p.through
		return emit(api.BatchEvent{OK: sum.OK, Through: sum.Through})
	}
	for {
		var done <-chan error
		if pending != nil {
			done = pending.done
		}
		ch, ok, committed := next(chunks, parked, done)
		if committed != nil { // acknowledged while waiting for more input
			if err := acked(*committed); err != nil {
				return sum, err
			}
			continue
		}
		if !ok {
			break
		}
		if ch.err != nil {
			_ = finish()
			return sum, fmt.Errorf("reading the request body after line %d: %w", sum.Through, ch.err)
		}
		// Renewed every snapshotChunks chunks, and after a second: a writer that pauses (see
		// readChunks) sends small chunks far apart, and lines compared against an old snapshot
		// would miss the changes made since by others (a pin removed meanwhile would be
		// "unchanged" instead of pinned again).
		if chunksRead++; chunksRead%snapshotChunks == 0 || s.now().Sub(snapAt) > snapshotAge {
			snap.Discard()
			snap, snapAt = s.deps.Snapshot(), s.now()
			view.renew()
		}
		p, fails, err := s.prepare(ctx, req, snap, view, ch.lines)
		if err != nil {
			_ = finish()
			return sum, err
		}
		for _, f := range fails {
			sum.Failed++
			if err := emit(f); err != nil {
				return sum, err
			}
		}
		sum.Unchanged += p.unchanged
		if err := finish(); err != nil {
			return sum, err
		}
		if err := s.admit(ctx, p); err != nil {
			return sum, err
		}
		pending = s.commit(ctx, p)
	}
	if err := finish(); err != nil {
		return sum, err
	}
	if err := ctx.Err(); err != nil {
		return sum, err
	}
	// Done once the batch is broadcast, not only durable here. A broadcast that does not drain
	// in time (publishing failing) does not fail lines that are durable; they go out later.
	if err := s.deps.Flush(ctx); err != nil && ctx.Err() != nil {
		return sum, ctx.Err()
	}
	// Then say where it is held, when this run changed anything (a rerun that changed nothing
	// does not wait on the other members).
	if sum.OK > sum.Unchanged {
		sum.HeldBy, sum.Peers = s.deps.Replicated(ctx)
		if err := ctx.Err(); err != nil {
			return sum, err
		}
	}
	sum.Done = true
	return sum, emit(sum)
}

// admit waits until the queues downstream of the pinset can take the chunk's changes. Only a
// chunk that pins can be refused (Deps.Admit): a single unpin is never refused for a full
// queue, and unpinning is how a user drains a full tracker queue. A chunk of unpins only
// waits for the broadcast queue's room, when the deps can (broadcastWaiter); a chunk without
// changes (a rerun) waits for nothing.
func (s *Service) admit(ctx context.Context, p prepared) error {
	switch {
	case p.pins > 0:
		return s.deps.Admit(ctx, len(p.changes))
	case len(p.changes) > 0:
		if w, ok := s.deps.(broadcastWaiter); ok {
			return w.WaitBroadcast(ctx, len(p.changes))
		}
	}
	return nil
}

// chunk is a run of parsed lines, or the read error that ended the input.
type chunk struct {
	lines []Line
	err   error
}

// prepared is a chunk ready to commit.
type prepared struct {
	changes   []messages.Change
	pins      int // changes that pin (the others unpin)
	ok        int // lines of the chunk that are ok once the changes are durable
	unchanged int
	through   int // the chunk's last line number
}

// prepare validates the chunk's lines, drops those already as asked and allocates the rest.
// Each line compares against what the earlier lines of the run left (view), else the
// snapshot.
func (s *Service) prepare(ctx context.Context, req Request, snap Snapshot, view *runView, lines []Line) (prepared, []api.BatchEvent, error) {
	p := prepared{through: lines[len(lines)-1].N}
	var fails []api.BatchEvent
	fail := func(l Line, err error) {
		fails = append(fails, api.BatchEvent{Line: l.N, Input: l.Input(), Error: err.Error()})
	}
	// Sized once: a Line is a few hundred bytes, and growing these slices by appends was 4% of
	// a batch ingest's CPU.
	good := make([]Line, 0, len(lines))
	cids := make([]api.Cid, 0, len(lines))
	now := s.now()
	for _, l := range lines {
		if l.Err == nil && req.Op == api.BatchPin {
			l.Opts.ApplyDefaults(s.cfg.ReplicationFactorMin, s.cfg.ReplicationFactorMax)
			if l.Err = l.Opts.Validate(); l.Err == nil {
				l.Err = l.Opts.ValidateExpiry(now)
			}
		}
		if l.Err != nil {
			fail(l, l.Err)
			continue
		}
		good = append(good, l)
		cids = append(cids, l.Cid)
	}
	if len(good) == 0 {
		return p, fails, nil
	}
	stored, found, err := snap.GetPins(cids)
	if err != nil {
		return p, fails, fmt.Errorf("reading the pinset: %w", err)
	}
	if req.Op == api.BatchUnpin {
		p.changes = make([]messages.Change, 0, len(good))
		for i, l := range good {
			pin, ok := view.get(l.Cid, stored[i], found[i])
			if !ok {
				p.ok++
				p.unchanged++
				continue
			}
			if err := refuseUnpinSharded(pin); err != nil {
				fail(l, err)
				continue
			}
			p.ok++
			p.changes = append(p.changes, messages.Change{Kind: crdt.OpUnpin, Pin: api.Pin{Cid: l.Cid}})
			view.put(l.Cid, nil)
		}
		slices.SortStableFunc(fails, func(a, b api.BatchEvent) int { return a.Line - b.Line })
		return p, fails, nil
	}
	if len(view.cur)+len(view.prev) > 0 {
		for i, c := range cids {
			stored[i], found[i] = view.get(c, stored[i], found[i])
		}
	}
	// The lines of each CID, in input order (almost always one: the slices share one array,
	// and only a repeated CID's grows its own).
	groups := make([][]int, 0, len(good))
	at := make(map[api.Cid]int, len(good))
	members := make([]int, len(good))
	for i, l := range good {
		g, ok := at[l.Cid]
		if !ok {
			members[i] = i
			at[l.Cid] = len(groups)
			groups = append(groups, members[i:i+1:i+1])
			continue
		}
		groups[g] = append(groups[g], i)
	}
	// A CID's lines apply in order, so the last one that succeeds decides what is stored:
	// the lines after the last one already as stored are allocated (candidates), and the last
	// candidate allocated is committed; without one, the CID stays as stored. An earlier line
	// is ok and never reaches the pinset, so a file naming a CID twice commits one op for it,
	// and a rerun of it is unchanged.
	need := make([]bool, len(good))
	refused := make([]error, len(good))
	reqs := make([]AllocRequest, 0, len(good))
	reqOf := make([]int, len(good)) // the request of a candidate line
	cand := make([]bool, len(good)) // lines allocated (reqOf holds their request)
	for gi, g := range groups {
		i0 := g[0]
		if found[i0] && stored[i0].TypeOrData() != api.PinTypeData {
			for _, i := range g {
				refused[i] = api.RefuseRepinSharded(stored[i0])
			}
			continue
		}
		if g = keepRequests(g, good, stored[i0].Metadata, fail); len(g) == 0 { // stored: zero when not found
			groups[gi] = nil
			continue
		}
		groups[gi] = g
		last := -1 // position in g of the last line already as stored
		for k, i := range g {
			if need[i] = !found[i0] || !sameOptions(stored[i0].PinOptions, good[i].Opts); !need[i] {
				last = k
			}
		}
		for _, i := range g[last+1:] {
			r := AllocRequest{Cid: good[i].Cid, Opts: good[i].Opts}
			if found[i0] {
				r.Current = stored[i0].Allocations
			}
			reqOf[i], cand[i] = len(reqs), true
			reqs = append(reqs, r)
		}
	}
	var allocs [][]peer.ID
	var errs []error
	if len(reqs) > 0 {
		if allocs, errs, err = s.deps.Allocate(ctx, reqs); err != nil {
			return p, fails, fmt.Errorf("allocating: %w", err)
		}
	}
	allocErr := func(i int) error { // nil for a line that was not allocated
		if errs == nil || !cand[i] {
			return nil
		}
		return errs[reqOf[i]]
	}
	now = s.now().UTC() // the pins' timestamp, once allocated
	p.changes = make([]messages.Change, 0, len(reqs))
	var enc pinEncoder
	for _, g := range groups {
		if len(g) == 0 { // every line failed keepRequests
			continue
		}
		if refused[g[0]] != nil {
			for _, i := range g {
				fail(good[i], refused[i])
			}
			continue
		}
		// The committed line: the last candidate allocated.
		commit, failed := -1, 0
		for k := len(g) - 1; k >= 0 && need[g[k]]; k-- {
			if err := allocErr(g[k]); err != nil {
				fail(good[g[k]], err)
				failed++
			} else if commit < 0 {
				commit = g[k]
			}
		}
		ok := len(g) - failed
		if commit < 0 { // the ok lines are already as stored
			p.ok += ok
			p.unchanged += ok
			continue
		}
		l := good[commit]
		pin := api.NewPin(l.Cid, l.Opts)
		if a := allocs[reqOf[commit]]; a != nil {
			pin.Allocations = a
		}
		pin.Timestamp = now
		b, err := enc.encode(pin)
		if err != nil {
			for _, i := range g {
				if allocErr(i) == nil { // the candidates that failed to allocate are failed already
					fail(good[i], err)
				}
			}
			continue
		}
		p.changes = append(p.changes, messages.Change{Kind: crdt.OpPin, Pin: pin, PinJSON: b})
		p.pins++
		p.ok += ok
		view.put(l.Cid, &p.changes[len(p.changes)-1].Pin) // p.changes has its final capacity
	}
	slices.SortStableFunc(fails, func(a, b api.BatchEvent) int { return a.Line - b.Line })
	return p, fails, nil
}

// keepRequests gives the lines g of a stored pin the pin's Pinning Service API requests
// (api.KeepRequests) and fails those whose metadata then goes over its bounds (the requests
// count towards them); it returns the lines left, g itself when none failed.
func keepRequests(g []int, good []Line, stored map[string]string, fail func(Line, error)) []int {
	var kept []int
	storedRequests := api.HasRequestKey(stored)
	for k, i := range g {
		o := &good[i].Opts
		var err error
		// Most lines: no request key on either side, the options stand as parsed (and
		// validated); only a change is checked again (a batch's hot path).
		if storedRequests || api.HasRequestKey(o.Metadata) {
			o.Metadata = api.KeepRequests(stored, o.Metadata)
			err = o.ValidateLimits()
		}
		switch {
		case err != nil && kept == nil:
			kept = append(make([]int, 0, len(g)), g[:k]...)
			fail(good[i], err)
		case err != nil:
			fail(good[i], err)
		case kept != nil:
			kept = append(kept, i)
		}
	}
	if kept == nil {
		return g
	}
	return kept
}

// sameOptions reports whether a stored pin already has the options a line asks for.
func sameOptions(a, b api.PinOptions) bool {
	return a.ReplicationFactorMin == b.ReplicationFactorMin && a.ReplicationFactorMax == b.ReplicationFactorMax &&
		a.Name == b.Name && a.Mode == b.Mode && a.ExpireAt.Equal(b.ExpireAt) &&
		slices.Equal(a.UserAllocations, b.UserAllocations) && maps.Equal(a.Metadata, b.Metadata) &&
		!b.PinUpdate.Defined() && len(b.Origins) == 0
}

// commitRun is a commit in flight; done receives its outcome.
type commitRun struct {
	ok, through int
	done        chan error
}

// commit runs the chunk's group commit in an I/O worker, so the next chunk is prepared
// meanwhile. A chunk with nothing to change completes at once.
func (s *Service) commit(ctx context.Context, p prepared) *commitRun {
	c := &commitRun{ok: p.ok, through: p.through, done: make(chan error, 1)}
	if len(p.changes) == 0 {
		c.done <- nil
		return c
	}
	go func() {
		err := s.deps.Commit(ctx, p.changes)
		if err != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("committing lines up to %d: %w", p.through, err)
		}
		c.done <- err
	}()
	return c
}
