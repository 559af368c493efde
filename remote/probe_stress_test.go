package remote

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/internal/poll"
)

// Requests coming and going at random against a frozen and then a live peer: once all ended and
// any round finished, no prober is left.
func TestProbeNoLeftovers(t *testing.T) {
	for _, frozen := range []bool{true, false} {
		t.Run(fmt.Sprint("frozen=", frozen), func(t *testing.T) {
			cfg := Config{RequestTimeout: 20 * time.Second, ProbeAfter: 5 * time.Millisecond, ProbeTimeout: 30 * time.Millisecond}
			a, b := pair(t, cfg)
			if _, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "warm"}); err != nil {
				t.Fatal(err)
			}
			if frozen {
				freeze(t, b)
			}
			var wg sync.WaitGroup
			for i := range 400 {
				wg.Go(func() {
					time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(80))*time.Millisecond+cfg.ProbeAfter+cfg.ProbeTimeout+time.Millisecond)
					defer cancel()
					txt := "sink"
					if i%3 == 0 {
						txt = "x"
					}
					_, _ = a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: txt})
				})
			}
			wg.Wait()
			// Every request has withdrawn; a round still running ends within ProbeTimeout
			// (its ping's deadline). Once none runs, no prober may be left.
			var n, running int
			ended := poll.Until(10*time.Second, time.Millisecond, func() bool {
				a.r.mu.Lock()
				defer a.r.mu.Unlock()
				n, running = len(a.r.probes), 0
				for _, p := range a.r.probes {
					if p.running {
						running++
					}
				}
				return running == 0
			})
			if !ended {
				t.Fatalf("%d probe rounds still running 10 s after the last request ended", running)
			}
			if n != 0 {
				t.Fatalf("%d probers left with no request waiting", n)
			}
		})
	}
}

// Close while rounds run: no panic, no race, Close returns.
func TestProbeCloseDuringRounds(t *testing.T) {
	for i := range 20 {
		cfg := Config{RequestTimeout: 20 * time.Second, ProbeAfter: time.Millisecond, ProbeTimeout: 20 * time.Millisecond}
		a, b := pair(t, cfg)
		if i%2 == 0 {
			freeze(t, b)
		}
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { _, _ = a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "sink"}) })
		}
		time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond)
		done := make(chan struct{})
		go func() { _ = a.r.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Close hangs")
		}
		wg.Wait()
	}
}
