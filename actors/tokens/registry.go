package tokens

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/actors/root"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// ActorName is the tokens actor's name on every peer (other peers address their token sync
// requests to it).
const ActorName = "tokens"

// Store keeps the records durably (persistence.Store). Every method may block on Badger and is
// safe for concurrent use.
type Store interface {
	// MergeTokens merges recs and returns the records that changed.
	MergeTokens(recs []api.TokenRecord, now time.Time) ([]api.TokenRecord, error)
	Token(id string) (api.TokenRecord, bool, error)
	TokenRevoked(id string) (bool, error)
	IterateTokens(ctx context.Context, after string, fn func(api.TokenRecord) error) error
	DropExpiredTokens(now time.Time) (int, error)
}

// Topic publishes records to the other peers (gossip.Topics). It may block briefly.
type Topic interface {
	PublishTokens(ctx context.Context, recs []api.TokenRecord) error
}

// Requester sends a request to an actor on another peer and waits for its reply
// (remote.Remote). It blocks.
type Requester interface {
	Request(ctx context.Context, to *actor.PID, msg any) (any, error)
	PID(id peer.ID, name string) *actor.PID
}

// Members is who to pull from (roster.Roster).
type Members interface {
	// Connected lists the peers connected now.
	Connected() []peer.ID
	// Allowed reports whether id is trusted and not removed: only its answers are merged.
	Allowed(id peer.ID) bool
}

// Deps configure the registry. All are required but Interval (default one minute).
type Deps struct {
	Self     peer.ID
	Store    Store
	Topic    Topic
	Remote   Requester
	Members  Members
	Interval time.Duration
}

// Registry is the facade: the REST API's side (Record, Revoke, Revoked, List) works on the
// store directly; the gossip and connection side (Merge, PullFrom) sends to the actor.
type Registry struct {
	deps   Deps
	system *actor.ActorSystem
	pid    *actor.PID
	log    *slog.Logger
}

// Spawn starts the tokens actor under parent.
func Spawn(parent root.Parent, deps Deps, log *slog.Logger) (*Registry, error) {
	if deps.Self == "" || deps.Store == nil || deps.Topic == nil || deps.Remote == nil || deps.Members == nil {
		return nil, fmt.Errorf("tokens: Self, Store, Topic, Remote and Members are required")
	}
	if deps.Interval <= 0 {
		deps.Interval = time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "tokens")
	props := actor.PropsFromProducer(func() actor.Actor { return newActor(deps, log) })
	pid, err := parent.SpawnNamed(props, ActorName)
	if err != nil {
		return nil, fmt.Errorf("tokens: spawn: %w", err)
	}
	return &Registry{deps: deps, system: parent.ActorSystem(), pid: pid, log: log}, nil
}

// Stop stops the actor; a pull in progress is cancelled.
func (r *Registry) Stop() { _ = r.system.Root.StopFuture(r.pid).Wait() }

// Record stores the record of a token this peer just issued (IssuedBy is set to this peer) and
// publishes it. It returns once the record is durable; a failed publish is logged (the other
// peers pull the record later).
func (r *Registry) Record(ctx context.Context, rec api.TokenRecord) error {
	rec.IssuedBy = r.deps.Self
	if _, err := r.deps.Store.MergeTokens([]api.TokenRecord{rec}, time.Now()); err != nil {
		return fmt.Errorf("recording token %s: %w", rec.ID, err)
	}
	r.publish(ctx, rec)
	return nil
}

// ErrUnknownToken: no token with this id was issued (or it expired and its record was
// dropped). It wraps api.ErrNotFound (404).
var ErrUnknownToken = fmt.Errorf("%w: no token with this id (it never existed, or it expired and was forgotten): list them with pincluster token ls", api.ErrNotFound)

// Revoke revokes the token id: from then on every peer refuses it. Revoking a revoked token
// returns its record unchanged (idempotent). An unknown id is ErrUnknownToken; an id not of
// the token id form is api.ErrInvalid.
func (r *Registry) Revoke(ctx context.Context, id string) (api.TokenRecord, error) {
	if !api.ValidTokenID(id) {
		return api.TokenRecord{}, fmt.Errorf("%w: %q is not a token id (%d lowercase hex characters, as pincluster token ls shows)", api.ErrInvalid, id, api.TokenIDLen)
	}
	rec, ok, err := r.deps.Store.Token(id)
	switch {
	case err != nil:
		return rec, err
	case !ok:
		return rec, fmt.Errorf("token %s: %w", id, ErrUnknownToken)
	case rec.Revoked:
		return rec, nil
	}
	rec.Revoked, rec.RevokedAt, rec.RevokedBy = true, time.Now().UTC(), r.deps.Self
	changed, err := r.deps.Store.MergeTokens([]api.TokenRecord{rec}, time.Now())
	if err != nil {
		return rec, fmt.Errorf("revoking token %s: %w", id, err)
	}
	if len(changed) == 1 {
		rec = changed[0] // an earlier revocation that raced in wins
	}
	r.publish(ctx, rec)
	return rec, nil
}

// Revoked reports whether the token id is revoked (one Badger read).
func (r *Registry) Revoked(id string) (bool, error) { return r.deps.Store.TokenRevoked(id) }

// List streams every record in id order (constant memory); it stops at fn's first error.
func (r *Registry) List(ctx context.Context, fn func(api.TokenRecord) error) error {
	return r.deps.Store.IterateTokens(ctx, "", fn)
}

// Merge hands records a trusted peer published to the actor. It never blocks.
func (r *Registry) Merge(from peer.ID, recs []api.TokenRecord) {
	r.system.Root.Send(r.pid, merge{from: from, recs: recs})
}

// PullFrom asks the actor to pull the records of id soon. It never blocks.
func (r *Registry) PullFrom(id peer.ID) { r.system.Root.Send(r.pid, PullFrom{Peer: id}) }

// Joined tells the actor that id joined the tokens topic: it publishes its recent records
// again (republish.go). It never blocks.
func (r *Registry) Joined(id peer.ID) { r.system.Root.Send(r.pid, joined{peer: id}) }

// publishTimeout bounds a publish on the request's path.
const publishTimeout = 5 * time.Second

func (r *Registry) publish(ctx context.Context, rec api.TokenRecord) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	// Told before the publish: a join that the publish could miss comes after it.
	r.system.Root.Send(r.pid, published{rec: rec, at: time.Now()})
	if err := r.deps.Topic.PublishTokens(ctx, []api.TokenRecord{rec}); err != nil && !errors.Is(err, context.Canceled) {
		r.log.Warn("publishing a token record (the other peers will pull it)", "id", rec.ID, "err", err)
	}
}

// answerSync reads one page of records for a TokenSyncRequest.
func answerSync(ctx context.Context, store Store, m *messages.TokenSyncRequest) *messages.TokenSyncResponse {
	limit := m.Limit
	if limit <= 0 || limit > maxPage {
		limit = maxPage
	}
	resp := &messages.TokenSyncResponse{Records: []api.TokenRecord{}}
	errFull := errors.New("page full")
	err := store.IterateTokens(ctx, m.After, func(rec api.TokenRecord) error {
		if len(resp.Records) == limit {
			resp.More = true
			return errFull
		}
		resp.Records = append(resp.Records, rec)
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return &messages.TokenSyncResponse{Error: err.Error()}
	}
	return resp
}
