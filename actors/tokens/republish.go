package tokens

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
)

// A record published before the publisher learned that a peer subscribes to the tokens topic
// never reaches that peer: gossipsub sends a message to the subscribers it knows of, and a
// peer that has just connected (or restarted) is not one of them until its subscription
// arrives. The peer's pull on connection may have run before the publish, and its next pull is
// an interval away. So the publisher publishes what it published within the interval again
// whenever a peer joins the topic: the joining peer is a known subscriber by then (pubsub
// records the subscription before it announces the join). Merges are idempotent, so the
// other peers lose nothing but a message. Beyond the interval, the periodic pulls bring it.

// onPublished remembers a record this peer published.
func (a *tokensActor) onPublished(m published) {
	a.recent = append(a.recent, m)
	if len(a.recent) > maxRecent {
		a.recent = append(a.recent[:0], a.recent[len(a.recent)-maxRecent:]...)
	}
}

// onJoined publishes the recent records again (one republish at a time; joins meanwhile make
// one more).
func (a *tokensActor) onJoined(ctx actor.Context) {
	cutoff := time.Now().Add(-a.deps.Interval)
	drop := 0
	for drop < len(a.recent) && a.recent[drop].at.Before(cutoff) {
		drop++
	}
	a.recent = append(a.recent[:0], a.recent[drop:]...)
	if len(a.recent) == 0 {
		return
	}
	if a.republishing {
		a.again = true
		return
	}
	recs := make([]api.TokenRecord, len(a.recent))
	for i, m := range a.recent {
		recs[i] = m.rec
	}
	a.republishing = true
	self, system, topic, base := ctx.Self(), ctx.ActorSystem(), a.deps.Topic, a.ctx
	go func() {
		pctx, cancel := context.WithTimeout(base, publishTimeout)
		err := topic.PublishTokens(pctx, recs)
		cancel()
		system.Root.Send(self, republished{err: err})
	}()
}

func (a *tokensActor) onRepublished(ctx actor.Context, m republished) {
	a.republishing = false
	if m.err != nil && a.ctx.Err() == nil {
		a.log.Debug("tokens: publishing recent records again", "err", m.err)
	}
	if a.again {
		a.again = false
		a.onJoined(ctx)
	}
}
