package statusdigest

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/messages"
	sd "github.com/pincluster/pincluster/statusdigest"
)

const (
	// maxQueued and maxQueuedEntries bound the received digests waiting for the applier: the
	// queue's items (a heartbeat, or a peer's run of deltas) and their entries, one per CID in
	// a run: about 240 bytes each in memory with the run's index and the CID (30 MB at the
	// bound), plus their errors' text. A run's seqs are bounded by the rate limiter.
	maxQueued        = 4096
	maxQueuedEntries = 1 << 17
	// maxLimited bounds the peers the rate limiter remembers.
	maxLimited = 4096
	// pullPage is the page size of a pull.
	pullPage = sd.MaxEntries
	// A pull has no overall deadline: each page is bounded on its own (the request by the
	// remote layer's request timeout), so a pull ends when its peer stops answering and
	// otherwise lasts as long as the pages keep coming. A fixed bound on the whole pull (it was
	// 5 minutes) would cancel the pull of a digest of 10M pins on a slow link, and restart it
	// from the first page each time.

	// maxPullPages bounds one pull (4096 x 100k: far more pins than one peer holds).
	maxPullPages = 100_000
)

type (
	// applied is the applier's report: the peers whose replica is behind.
	applied struct {
		behind []peer.ID
		err    error
	}
	// pulled is the pull worker's report.
	pulled struct {
		from peer.ID
		err  error
	}
)

// replicas is the actor's state for the other peers' digests.
type replicas struct {
	cfg   Config
	queue []queuedDigest
	// runs are the peers' runs of deltas in queue that a delta of theirs joins: while the
	// applier works through a batch, a CID's later statuses replace its earlier ones instead
	// of waiting beside them. At 20 peers x 20k pins, uncoalesced deltas overflowed the queue
	// and each delta dropped cost a pull of its peer's whole digest: peer 1's view lagged the
	// cluster by minutes (docs/scale.md).
	runs     map[peer.ID]*sd.Run
	queued   int // entries in queue
	applying bool
	buckets  map[peer.ID]*bucket
	limited  map[peer.ID]bool // logged as rate-limited since the last digest taken
	want     []peer.ID        // peers to pull from, in order
	wanted   map[peer.ID]bool
	pulling  bool
	drops    []peer.ID // removed peers whose replica the next applier run deletes
}

func newReplicas(cfg Config) replicas {
	return replicas{cfg: cfg, runs: map[peer.ID]*sd.Run{}, buckets: map[peer.ID]*bucket{}, limited: map[peer.ID]bool{}, wanted: map[peer.ID]bool{}}
}

// queuedDigest is a heartbeat (run nil) or a run of deltas of one peer waiting for the
// applier.
type queuedDigest struct {
	from peer.ID
	hb   sd.Digest
	run  *sd.Run
}

// entries is how many entries q holds.
func (q queuedDigest) entries() int {
	if q.run == nil {
		return 0
	}
	return len(q.run.Entries)
}

// bucket is a token bucket of one peer's digests.
type bucket struct {
	tokens float64
	last   time.Time
}

// take spends a token of from's bucket at now; false: the peer floods.
func (r *replicas) take(from peer.ID, now time.Time) bool {
	b := r.buckets[from]
	if b == nil {
		if len(r.buckets) >= maxLimited {
			clear(r.buckets)
		}
		b = &bucket{tokens: float64(r.cfg.Burst), last: now}
		r.buckets[from] = b
	}
	b.tokens = min(float64(r.cfg.Burst), b.tokens+now.Sub(b.last).Seconds()*r.cfg.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (a *digestActor) onReceived(ctx actor.Context, m received) {
	r := &a.rep
	if m.from == a.deps.Self || a.deps.Members.IsRemoved(m.from) {
		return
	}
	if !r.take(m.from, time.Now()) {
		if !r.limited[m.from] {
			r.limited[m.from] = true
			a.log.Warn("statusdigest: a peer floods status digests; dropping them (a pull catches up later)", "peer", m.from, "rate", r.cfg.Rate)
		}
		return
	}
	delete(r.limited, m.from)
	if !r.enqueue(m) {
		a.log.Warn("statusdigest: too many digests waiting; dropping one (a pull catches up later)", "peer", m.from)
		return
	}
	a.apply(ctx)
}

// enqueue queues m for the applier: a delta joins its peer's run of the same epoch if one
// waits. False: the queue is full.
func (r *replicas) enqueue(m received) bool {
	if m.d.Heartbeat {
		if len(r.queue) >= maxQueued {
			return false
		}
		r.queue = append(r.queue, queuedDigest{from: m.from, hb: m.d})
		return true
	}
	if run := r.runs[m.from]; run != nil && run.Epoch == m.d.Epoch {
		// Counted exactly (a map lookup per entry) only when the delta's size could overflow.
		if r.queued+len(m.d.Entries) > maxQueuedEntries && r.queued+run.Fresh(m.d) > maxQueuedEntries {
			return false
		}
		r.queued += run.Add(m.d)
		return true
	}
	if len(r.queue) >= maxQueued || r.queued+len(m.d.Entries) > maxQueuedEntries {
		return false
	}
	run := sd.NewRun(m.d)
	r.runs[m.from] = run
	r.queue = append(r.queue, queuedDigest{from: m.from, run: run})
	r.queued += len(run.Entries)
	return true
}

// onPeerRemoved forgets a removed peer's replica: what is queued or wanted of it is dropped,
// and the applier deletes its stored replica (after any digest of it it is applying, so none
// is written back).
func (a *digestActor) onPeerRemoved(ctx actor.Context, m messages.PeerRemoved) {
	r := &a.rep
	keep := r.queue[:0]
	for _, q := range r.queue {
		if q.from == m.Peer {
			r.queued -= q.entries()
			continue
		}
		keep = append(keep, q)
	}
	clear(r.queue[len(keep):])
	r.queue = keep
	delete(r.runs, m.Peer)
	r.drops = append(r.drops, m.Peer)
	a.apply(ctx)
}

// apply starts the applier on everything queued and the replicas to delete, unless it runs.
func (a *digestActor) apply(ctx actor.Context) {
	r := &a.rep
	if r.applying || len(r.queue) == 0 && len(r.drops) == 0 {
		return
	}
	batch, drops := r.queue, r.drops
	r.queue, r.queued, r.drops, r.applying = nil, 0, nil, true
	clear(r.runs) // the batch's runs are the applier's now
	self, system, store := ctx.Self(), ctx.ActorSystem(), a.deps.Store
	a.spawn(func() {
		var rep applied
		seen := map[peer.ID]bool{}
		for _, m := range batch {
			var meta sd.Meta
			var err error
			if m.run != nil {
				meta, err = store.ApplyDeltas(m.from, m.run, time.Now())
			} else {
				meta, err = store.ApplyDigest(m.from, m.hb, time.Now())
			}
			if err != nil {
				rep.err = fmt.Errorf("applying the digest of %s: %w", m.from, err)
				break
			}
			seen[m.from] = !meta.Current()
		}
		for _, p := range drops {
			delete(seen, p)
			if err := store.DropDigest(p); err != nil && rep.err == nil {
				rep.err = fmt.Errorf("deleting the digest replica of removed peer %s: %w", p, err)
			}
		}
		for p, behind := range seen {
			if behind {
				rep.behind = append(rep.behind, p)
			}
		}
		system.Root.Send(self, rep)
	})
}

func (a *digestActor) onApplied(ctx actor.Context, m applied) {
	r := &a.rep
	r.applying = false
	if m.err != nil {
		a.log.Warn("statusdigest: storing received digests (a pull catches up later)", "err", m.err)
	}
	for _, p := range m.behind {
		if !r.wanted[p] {
			r.wanted[p] = true
			r.want = append(r.want, p)
		}
	}
	a.apply(ctx)
	a.pull(ctx)
}

// pull starts a pull from the first peer wanted, unless one runs.
func (a *digestActor) pull(ctx actor.Context) {
	r := &a.rep
	for !r.pulling && len(r.want) > 0 {
		p := r.want[0]
		r.want = r.want[1:]
		delete(r.wanted, p)
		if !a.deps.Members.Allowed(p) {
			continue
		}
		r.pulling = true
		self, system, deps, base := ctx.Self(), ctx.ActorSystem(), a.deps, a.ctx
		a.spawn(func() {
			err := pullFrom(base, deps, p)
			system.Root.Send(self, pulled{from: p, err: err})
		})
	}
}

func (a *digestActor) onPulled(ctx actor.Context, m pulled) {
	a.rep.pulling = false
	if a.deps.Members.IsRemoved(m.from) { // removed while it was pulled: delete what it wrote
		a.rep.drops = append(a.rep.drops, m.from)
		a.apply(ctx)
	}
	if m.err != nil && a.ctx.Err() == nil {
		a.log.Info("statusdigest: pulling a peer's status digest (its part shows stale until it answers)", "peer", m.from, "err", m.err)
	}
	a.pull(ctx)
}

// pullFrom pulls the whole digest of p page by page into its replica. It blocks. A whole
// digest is as large as p's share of the pinset, so the pull takes turns with snapshot loads
// (deps.Transfers): a fresh peer's snapshot, which starts on its first connection, usually
// goes first, and its members' digests follow instead of competing with it.
func pullFrom(ctx context.Context, deps Deps, p peer.ID) error {
	leave, err := deps.Transfers.Enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	gen, err := deps.Store.StartDigestPull(p)
	if err != nil {
		return err
	}
	var after []byte
	var epoch, seq uint64
	for i := range maxPullPages {
		res, err := deps.Remote.Request(ctx, deps.Remote.PID(p, ActorName), &messages.StatusDigestPullRequest{After: after, Limit: pullPage})
		if err != nil {
			return err
		}
		resp, ok := res.(*messages.StatusDigestPullResponse)
		switch {
		case !ok:
			return fmt.Errorf("status digest pull: %s answered with a %T", p, res)
		case resp.Error != "":
			return fmt.Errorf("status digest pull: %s: %s", p, resp.Error)
		case resp.Epoch == 0:
			return fmt.Errorf("status digest pull: %s answered no version", p)
		}
		if i == 0 {
			epoch, seq = resp.Epoch, resp.Seq
		}
		pg := sd.Page{Epoch: resp.Epoch, Seq: resp.Seq, Entries: resp.Entries, More: resp.More}
		if err := deps.Store.ApplyDigestPage(p, gen, pg, i == 0, time.Now()); err != nil {
			return err
		}
		if !resp.More || len(resp.Entries) == 0 {
			_, err := deps.Store.FinishDigestPull(p, gen, epoch, seq, time.Now())
			return err
		}
		after = resp.Entries[len(resp.Entries)-1].Cid
	}
	return fmt.Errorf("status digest pull: %s has more than %d pages", p, maxPullPages)
}
