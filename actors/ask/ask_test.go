package ask

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// gatedEcho answers each string once release is closed (nil: at once) and then signals sent.
type gatedEcho struct {
	release chan struct{}
	sent    chan struct{}
}

func (e *gatedEcho) Receive(ctx actor.Context) {
	if s, ok := ctx.Message().(string); ok {
		sender, system := ctx.Sender(), ctx.ActorSystem()
		go func() {
			if e.release != nil {
				<-e.release
			}
			system.Root.Send(sender, s)
			e.sent <- struct{}{}
		}()
	}
}

func TestRequest(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	spawn := func(e *gatedEcho) *actor.PID {
		return system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return e }))
	}
	background := func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }
	for _, tc := range []struct {
		name    string
		gated   bool
		dead    bool
		ctx     func() (context.Context, context.CancelFunc)
		timeout time.Duration
		want    error
	}{
		{"reply", false, false, background, 5 * time.Second, nil},
		{"timeout", true, false, background, 10 * time.Millisecond, actor.ErrTimeout},
		{"cancelled", true, false, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 10*time.Millisecond)
		}, 5 * time.Second, context.DeadlineExceeded},
		{"dead letter", false, true, background, 5 * time.Second, actor.ErrDeadLetter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &gatedEcho{sent: make(chan struct{}, 1)}
			if tc.gated {
				e.release = make(chan struct{})
			}
			pid := spawn(e)
			if tc.dead {
				pid = actor.NewPID(system.Address(), "nobody")
			}
			ctx, cancel := tc.ctx()
			defer cancel()
			res, err := Request(ctx, system, pid, "hi", tc.timeout)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil && res != "hi" {
				t.Fatalf("res = %v", res)
			}
			if tc.gated { // a late reply is dropped (and -race sees no race)
				close(e.release)
				<-e.sent
			}
		})
	}
}
