package gossip

import (
	"context"

	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/tokenwire"
)

// Token records travel on <cluster_name>/tokens as wirepb.TokenRecords (internal/tokenwire):
// a peer publishes the record of each token it issues and of each revocation it makes. The
// author is the pubsub message's signer (StrictSign), so a relay cannot forge one; only
// records published by a trusted peer (consensus.crdt.trusted_peers, not removed) are taken,
// since a revocation from anyone else would let any holder of the cluster secret lock users
// out. A peer that missed a message pulls the records later (actors/tokens).

// PublishTokens publishes token records on the tokens topic (tokens.Topic).
func (t *Topics) PublishTokens(ctx context.Context, recs []api.TokenRecord) error {
	b, err := tokenwire.EncodeRecords(recs)
	if err != nil {
		return err
	}
	return t.tokens.Publish(ctx, b)
}

// onTokens hands the token records a trusted peer published to the tokens actor.
func (r *reader) onTokens(msg *pubsub.Message) {
	recs, err := tokenwire.DecodeRecords(msg.Data)
	if err != nil {
		r.log.Warn("tokens gossip: dropping undecodable message", "from", msg.GetFrom(), "err", err)
		return
	}
	if !r.deps.Roster.Trusted(msg.GetFrom()) {
		r.log.Debug("tokens gossip: ignoring records from an untrusted peer", "from", msg.GetFrom())
		return
	}
	if len(recs) > 0 {
		r.deps.Tokens.Merge(msg.GetFrom(), recs)
	}
}
