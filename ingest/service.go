package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

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
	go readChunks(ctx, NewReader(body, req.Defaults), chunks)

	var sum api.BatchEvent
	snap := s.deps.Snapshot()
	defer func() { snap.Discard() }()
	chunksRead := 0
	var pending *commitRun // the commit in flight
	finish := func() error {
		if pending == nil {
			return nil
		}
		err := <-pending.done
		p := pending
		pending = nil
		if err != nil {
			return err
		}
		sum.OK += p.ok
		sum.Through = p.through
		return emit(api.BatchEvent{OK: sum.OK, Through: sum.Through})
	}
	for ch := range chunks {
		if ch.err != nil {
			_ = finish()
			return sum, fmt.Errorf("reading the request body after line %d: %w", sum.Through, ch.err)
		}
		if chunksRead++; chunksRead%snapshotChunks == 0 {
			snap.Discard()
			snap = s.deps.Snapshot()
		}
		p, fails, err := s.prepare(ctx, req, snap, ch.lines)
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
		if err := s.deps.Admit(ctx, len(p.changes)); err != nil {
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

// chunk is a run of parsed lines, or the read error that ended the input.
type chunk struct {
	lines []Line
	err   error
}

// readChunks is the run's reader: it owns the body, parses it and sends chunks until the end,
// a read error (sent as the last chunk) or ctx's end. It closes out.
func readChunks(ctx context.Context, r *Reader, out chan<- chunk) {
	defer close(out)
	lines := make([]Line, 0, ChunkLines)
	send := func(c chunk) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		l, err := r.Next()
		if err == io.EOF {
			if len(lines) > 0 {
				send(chunk{lines: lines})
			}
			return
		}
		if err != nil {
			send(chunk{err: err})
			return
		}
		if l.Err != nil || len(l.input) > maxInputEcho {
			l.input = append([]byte(nil), l.input[:min(len(l.input), maxInputEcho+1)]...)
		} else {
			l.input = append([]byte(nil), l.input...)
		}
		lines = append(lines, l)
		if len(lines) == ChunkLines {
			if !send(chunk{lines: lines}) {
				return
			}
			lines = make([]Line, 0, ChunkLines)
		}
	}
}

// prepared is a chunk ready to commit.
type prepared struct {
	changes   []messages.Change
	ok        int // lines of the chunk that are ok once the changes are durable
	unchanged int
	through   int // the chunk's last line number
}

// prepare validates the chunk's lines, drops those already as asked and allocates the rest.
func (s *Service) prepare(ctx context.Context, req Request, snap Snapshot, lines []Line) (prepared, []api.BatchEvent, error) {
	p := prepared{through: lines[len(lines)-1].N}
	var fails []api.BatchEvent
	fail := func(l Line, err error) {
		fails = append(fails, api.BatchEvent{Line: l.N, Input: l.Input(), Error: err.Error()})
	}
	// Sized once: a Line is a few hundred bytes, and growing these slices by appends was 4% of
	// a batch ingest's CPU.
	good := make([]Line, 0, len(lines))
	cids := make([]api.Cid, 0, len(lines))
	for _, l := range lines {
		if l.Err == nil && req.Op == api.BatchPin {
			l.Opts.ApplyDefaults(s.cfg.ReplicationFactorMin, s.cfg.ReplicationFactorMax)
			l.Err = l.Opts.Validate()
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
		for i, l := range good {
			p.ok++
			if !found[i] {
				p.unchanged++
				continue
			}
			p.changes = append(p.changes, messages.Change{Kind: crdt.OpUnpin, Pin: api.Pin{Cid: l.Cid}})
		}
		return p, fails, nil
	}
	reqs := make([]AllocRequest, 0, len(good))
	todo := make([]Line, 0, len(good))
	for i, l := range good {
		if found[i] && sameOptions(stored[i].PinOptions, l.Opts) {
			p.ok++
			p.unchanged++
			continue
		}
		r := AllocRequest{Cid: l.Cid, Opts: l.Opts}
		if found[i] {
			r.Current = stored[i].Allocations
		}
		reqs = append(reqs, r)
		todo = append(todo, l)
	}
	if len(reqs) == 0 {
		return p, fails, nil
	}
	allocs, errs, err := s.deps.Allocate(ctx, reqs)
	if err != nil {
		return p, fails, fmt.Errorf("allocating: %w", err)
	}
	now := s.now().UTC()
	p.changes = make([]messages.Change, 0, len(todo))
	var enc pinEncoder
	for i, l := range todo {
		if errs != nil && errs[i] != nil {
			fail(l, errs[i])
			continue
		}
		pin := api.NewPin(l.Cid, l.Opts)
		if allocs[i] != nil {
			pin.Allocations = allocs[i]
		}
		pin.Timestamp = now
		b, err := enc.encode(pin)
		if err != nil {
			fail(l, err)
			continue
		}
		p.changes = append(p.changes, messages.Change{Kind: crdt.OpPin, Pin: pin, PinJSON: b})
		p.ok++
	}
	slices.SortStableFunc(fails, func(a, b api.BatchEvent) int { return a.Line - b.Line })
	return p, fails, nil
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
