package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/pincluster/pincluster/api"
)

// Several requests in flight to one slow but live peer (every one answered after 6 probe
// rounds, and the peer's host answers every ping) are all waited for. (With a probe per
// request their concurrent pings went past libp2p's limit of ping streams per peer, failed at
// once, and were read as "does not answer"; found in review.)
func TestProbeConcurrentRequestsToLivePeer(t *testing.T) {
	a, b := pair(t, probeCfg)
	if _, err := b.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return lateActor{system: b.system, delay: 6 * probeCfg.ProbeAfter}
	}), "late"); err != nil {
		t.Fatal(err)
	}
	to := a.r.PID(b.h.ID(), "late")
	if _, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "warm"}); err != nil {
		t.Fatal(err)
	}
	const n = 3
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = a.r.Request(context.Background(), to, &ping{Text: fmt.Sprint(i)})
		})
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			t.Logf("request %d: %v (unavailable: %v)", i, err, errors.Is(err, api.ErrUnavailable))
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d requests to a live peer that answers its pings failed", failed, n)
	}
}

// Rounds back to back (ProbeAfter 1ns) with requests coming and going: the race detector or a
// panic in a timer goroutine is what this looks for (a round's timer was once read before it
// was assigned; found in review).
func TestProbeBackToBackRounds(t *testing.T) {
	cfg := Config{RequestTimeout: 20 * time.Second, ProbeAfter: time.Nanosecond, ProbeTimeout: 300 * time.Millisecond}
	a, b := pair(t, cfg)
	if _, err := b.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return lateActor{system: b.system, delay: 5 * time.Millisecond}
	}), "late"); err != nil {
		t.Fatal(err)
	}
	// Errors are not the point here.
	for i := range 200 {
		_, _ = a.r.Request(context.Background(), a.r.PID(b.h.ID(), "late"), &ping{Text: fmt.Sprint(i)})
	}
}
