package tokens

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/actors/timer"
	"github.com/pincluster/pincluster/api"
)

// A record published before the publisher learned that a peer subscribes to the tokens topic
// never reaches that peer: gossipsub sends a message to the subscribers it knows of, and a
// peer that has just connected (or restarted) is not one of them until its subscription
// arrives. The peer's pull on connection may have run before the publish, and its next pull is
// an interval away. So the publisher publishes again what it published within the last
// republishWindow whenever a trusted peer joins the topic: the joining peer is a known
// subscriber by then (pubsub records the subscription before it announces the join). Merges
// are idempotent, so the other peers lose nothing but a message.
//
// Bounded: only this peer's own recent records (at most maxRecent), only for joins of trusted
// peers (Members.Allowed: a peer outside trusted_peers subscribing in a loop makes nobody
// publish; a follower that joins relies on its pull on connection), at most one republish per republishGap (joins meanwhile make one
// more at its end: a rolling restart of a large cluster costs each recent publisher one
// message per gap, not one per join), and nothing at all while it published nothing lately.
const (
	// republishWindow is how recent a record must be to be published again: the time from a
	// connection to the subscription's arrival is well under it, and a peer that connected
	// later pulled the record on connection.
	republishWindow = 30 * time.Second
	// republishGap is the least time between two republishes.
	republishGap = 2 * time.Second
)

// republishDue is the timer message of a republish put off by the gap.
type republishDue struct{}

// onPublished remembers a record this peer published.
func (a *tokensActor) onPublished(m published) {
	a.recent = append(a.recent, m)
	if len(a.recent) > maxRecent {
		a.recent = append(a.recent[:0], a.recent[len(a.recent)-maxRecent:]...)
	}
}

// onJoined republishes the recent records for a trusted peer that joined the topic.
func (a *tokensActor) onJoined(ctx actor.Context, m joined) {
	if m.peer == a.deps.Self || !a.deps.Members.Allowed(m.peer) {
		return
	}
	a.republish(ctx, time.Now())
}

// republish publishes again the records recent at joinedAt (the join's time), unless none
// is; while one runs, or within republishGap of the last, it is put off to the gap's end
// (once, for the first join put off).
func (a *tokensActor) republish(ctx actor.Context, joinedAt time.Time) {
	now := time.Now()
	drop := 0
	for drop < len(a.recent) && joinedAt.Sub(a.recent[drop].at) > min(a.deps.Interval, republishWindow) {
		drop++
	}
	a.recent = append(a.recent[:0], a.recent[drop:]...)
	if len(a.recent) == 0 {
		return
	}
	if a.republishing || now.Sub(a.lastRepublish) < republishGap {
		if !a.again {
			a.again, a.dueJoin = true, joinedAt
			// At least a tenth of the gap: a publish that outlasts it must not spin.
			a.dueTimer = timer.After(ctx, max(republishGap-now.Sub(a.lastRepublish), republishGap/10), republishDue{})
		}
		return
	}
	recs := make([]api.TokenRecord, len(a.recent))
	for i, m := range a.recent {
		recs[i] = m.rec
	}
	a.republishing, a.lastRepublish = true, now
	self, system, topic, base := ctx.Self(), ctx.ActorSystem(), a.deps.Topic, a.ctx
	go func() {
		pctx, cancel := context.WithTimeout(base, publishTimeout)
		err := topic.PublishTokens(pctx, recs)
		cancel()
		system.Root.Send(self, republished{err: err})
	}()
}

func (a *tokensActor) onRepublished(m republished) {
	a.republishing = false
	if m.err != nil && a.ctx.Err() == nil {
		a.log.Debug("tokens: publishing recent records again", "err", m.err)
	}
}

// onRepublishDue runs the republish that joins put off.
func (a *tokensActor) onRepublishDue(ctx actor.Context) {
	a.again = false
	if !a.republishing { // else still publishing: put off once more
		a.lastRepublish = time.Time{}
	}
	a.republish(ctx, a.dueJoin)
}
