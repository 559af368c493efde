// Package timer schedules messages: the one way actors here wait for time.
//
// A timer is time.AfterFunc that sends the message to the actor, not protoactor's scheduler
// package, whose cancel func races with its timer goroutine. Stopping the returned timer
// before it fires cancels the message; a message already sent still arrives, so an actor
// that restarts or re-arms must tolerate one stale tick.
package timer

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// After sends msg to the actor of ctx after d.
func After(ctx actor.Context, d time.Duration, msg any) *time.Timer {
	self, system := ctx.Self(), ctx.ActorSystem()
	return time.AfterFunc(d, func() { system.Root.Send(self, msg) })
}
