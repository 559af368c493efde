package tokens

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

const (
	// maxPage bounds the records of one sync answer (well under tokenwire.MaxRecords).
	maxPage = 500
	// maxPages bounds one pull (500k records: far more tokens than any cluster issues within
	// their lifetime).
	maxPages = 1000
	// maxQueuedMerges bounds the gossip merges waiting for the writer.
	maxQueuedMerges = 1024
	// maxHints bounds the peers waiting for a pull.
	maxHints = 64
	// pullTimeout bounds one pull.
	pullTimeout = 2 * time.Minute
	// maxRecent bounds the records this peer published that it publishes again when a peer
	// joins the topic (older ones reach that peer by a pull).
	maxRecent = 256
)

// Messages of the actor.
type (
	// PullFrom asks for a pull from Peer soon. No reply.
	PullFrom struct{ Peer peer.ID }
	// merge: records a trusted peer published.
	merge struct {
		from peer.ID
		recs []api.TokenRecord
	}
	// tick is the interval timer: drop expired records, pull from a random peer.
	tick struct{}
	// written is the writer worker's report. (One from a crashed instance's worker may reach
	// the fresh one and start a second writer early: harmless, the store serialises merges.)
	written struct {
		changed int
		err     error
	}
	// pulled is the pull worker's report.
	pulled struct {
		from    peer.ID
		changed int
		err     error
	}
	// published: this peer published rec (Registry.Record, Revoke).
	published struct {
		rec api.TokenRecord
		at  time.Time
	}
	// joined: a peer joined the tokens topic (its subscription reached this peer).
	joined struct{ peer peer.ID }
	// republished is the republish worker's report.
	republished struct{ err error }
)

type tokensActor struct {
	deps Deps
	log  *slog.Logger

	queue   []merge // merges waiting for the writer
	writing bool

	pulling bool
	hints   map[peer.ID]bool
	order   []peer.ID

	// recent are the records this peer published lately, oldest first (republish.go).
	recent []published
	// republishing: a republish worker runs; again: a republish is put off to dueTimer;
	// lastRepublish: when the last one started.
	republishing, again bool
	lastRepublish       time.Time
	dueJoin             time.Time // the first join put off
	dueTimer            *time.Timer

	timer  *time.Timer
	ctx    context.Context
	cancel context.CancelFunc
}

func newActor(deps Deps, log *slog.Logger) *tokensActor {
	return &tokensActor{deps: deps, log: log, hints: map[peer.ID]bool{}}
}

func (a *tokensActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.ctx, a.cancel = context.WithCancel(context.Background())
		a.schedule(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.onStop()
	case merge:
		a.onMerge(ctx, m)
	case written:
		a.onWritten(ctx, m)
	case PullFrom:
		a.onHint(ctx, m.Peer)
	case tick:
		a.onTick(ctx)
	case pulled:
		a.onPulled(ctx, m)
	case *messages.TokenSyncRequest:
		a.onSyncRequest(ctx, m)
	case published:
		a.onPublished(m)
	case joined:
		a.onJoined(ctx, m)
	case republished:
		a.onRepublished(m)
	case republishDue:
		a.onRepublishDue(ctx)
	case *actor.Stopped:
	default:
		a.log.Warn("tokens: unknown message", "type", fmt.Sprintf("%T", m))
	}
}

func (a *tokensActor) schedule(ctx actor.Context) {
	a.timer = timer.After(ctx, a.deps.Interval, tick{})
}

func (a *tokensActor) onStop() {
	if a.timer != nil {
		a.timer.Stop()
	}
	if a.dueTimer != nil {
		a.dueTimer.Stop()
	}
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *tokensActor) onMerge(ctx actor.Context, m merge) {
	if len(a.queue) >= maxQueuedMerges {
		a.log.Warn("tokens: merge queue full, dropping gossiped records (a pull will bring them)", "from", m.from, "records", len(m.recs))
		return
	}
	a.queue = append(a.queue, m)
	a.write(ctx)
}

// write starts the writer on everything queued, unless it is busy.
func (a *tokensActor) write(ctx actor.Context) {
	if a.writing || len(a.queue) == 0 {
		return
	}
	var recs []api.TokenRecord
	for _, m := range a.queue {
		recs = append(recs, m.recs...)
	}
	a.queue, a.writing = nil, true
	self, system, store := ctx.Self(), ctx.ActorSystem(), a.deps.Store
	go func() {
		changed, err := store.MergeTokens(recs, time.Now())
		system.Root.Send(self, written{changed: len(changed), err: err})
	}()
}

func (a *tokensActor) onWritten(ctx actor.Context, m written) {
	a.writing = false
	if m.err != nil {
		a.log.Warn("tokens: storing gossiped records (a pull will bring them again)", "err", m.err)
	}
	a.write(ctx)
}

func (a *tokensActor) onHint(ctx actor.Context, id peer.ID) {
	if !a.hints[id] && len(a.hints) < maxHints {
		a.hints[id] = true
		a.order = append(a.order, id)
	}
	a.next(ctx)
}

// onTick drops expired records and pulls from a random connected peer (a peer that missed
// gossip without reconnecting, as in a partition that healed, catches up so). A tick that
// finds a pull running waits for the next.
func (a *tokensActor) onTick(ctx actor.Context) {
	a.schedule(ctx)
	if a.pulling {
		return
	}
	var from peer.ID
	if peers := a.deps.Members.Connected(); len(peers) > 0 {
		if p := peers[rand.IntN(len(peers))]; p != a.deps.Self && a.deps.Members.Allowed(p) {
			from = p
		}
	}
	a.pull(ctx, from, true)
}

// next starts a pull from the oldest hint, unless one is running.
func (a *tokensActor) next(ctx actor.Context) {
	for !a.pulling && len(a.order) > 0 {
		id := a.order[0]
		a.order = a.order[1:]
		delete(a.hints, id)
		if id != a.deps.Self && a.deps.Members.Allowed(id) {
			a.pull(ctx, id, false)
		}
	}
}

// pull starts the pull worker: the records of from (if set), and first the drop of expired
// records (if gc).
func (a *tokensActor) pull(ctx actor.Context, from peer.ID, gc bool) {
	a.pulling = true
	self, system, deps, base, log := ctx.Self(), ctx.ActorSystem(), a.deps, a.ctx, a.log
	go func() {
		if gc {
			if n, err := deps.Store.DropExpiredTokens(time.Now()); err != nil {
				log.Warn("tokens: dropping expired records", "err", err)
			} else if n > 0 {
				log.Debug("tokens: dropped expired records", "records", n)
			}
		}
		if from == "" {
			system.Root.Send(self, pulled{})
			return
		}
		pctx, cancel := context.WithTimeout(base, pullTimeout)
		n, err := pullFrom(pctx, deps, from)
		cancel()
		system.Root.Send(self, pulled{from: from, changed: n, err: err})
	}()
}

func (a *tokensActor) onPulled(ctx actor.Context, m pulled) {
	a.pulling = false
	switch {
	case m.err != nil:
		a.log.Debug("tokens: pull", "from", m.from, "err", m.err)
	case m.changed > 0:
		a.log.Info("tokens: pulled token records this peer lacked", "from", m.from, "records", m.changed)
	}
	a.next(ctx)
}

// pullFrom asks from for its records page by page and merges them. It blocks.
func pullFrom(ctx context.Context, deps Deps, from peer.ID) (int, error) {
	changed, after := 0, ""
	for range maxPages {
		res, err := deps.Remote.Request(ctx, deps.Remote.PID(from, ActorName), &messages.TokenSyncRequest{After: after, Limit: maxPage})
		if err != nil {
			return changed, err
		}
		resp, ok := res.(*messages.TokenSyncResponse)
		if !ok {
			return changed, fmt.Errorf("token sync: %s answered with a %T", from, res)
		}
		if resp.Error != "" {
			return changed, fmt.Errorf("token sync: %s: %s", from, resp.Error)
		}
		if len(resp.Records) > 0 {
			got, err := deps.Store.MergeTokens(resp.Records, time.Now())
			if err != nil {
				return changed, err
			}
			changed += len(got)
			after = resp.Records[len(resp.Records)-1].ID
		}
		if !resp.More || len(resp.Records) == 0 {
			return changed, nil
		}
	}
	return changed, fmt.Errorf("token sync: %s has more than %d pages of records", from, maxPages)
}

// onSyncRequest answers another peer's pull from a goroutine (a Badger read).
func (a *tokensActor) onSyncRequest(ctx actor.Context, m *messages.TokenSyncRequest) {
	sender, system, store, base := ctx.Sender(), ctx.ActorSystem(), a.deps.Store, a.ctx
	if sender == nil {
		return
	}
	go func() {
		system.Root.Send(sender, answerSync(base, store, m))
	}()
}
