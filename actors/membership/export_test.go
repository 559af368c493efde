package membership

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/actors/ask"
)

// Test-only API: exported here so that only this package's tests see it.

// ConnectedCount is the number of known members connected now. It waits for ctx's deadline
// (else 5s); a stopped actor is actor.ErrDeadLetter, no answer an api.ErrTimeout (ask.Call).
func (m *Membership) ConnectedCount(ctx context.Context) (int, error) {
	return ask.Call[int](ctx, m.system, m.pid, &connectedRequest{}, 5*time.Second, "membership", actor.ErrDeadLetter)
}
