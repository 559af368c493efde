package remote

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/pincluster/pincluster/api"
)

// bulkProto stands for the other protocols that share the connection with the remote one in a
// real peer: the embedded IPFS node's bitswap (peer/peer.go openBackend passes the cluster
// host to embedded.New), blockpush (/pincluster/blocks/1) and gossipsub.
const bulkProto = protocol.ID("/review/bulk/1")

// stream keeps writing 4 KiB every 10 ms from src to dst on bulkProto until the test ends; dst
// reads and discards. On a slow link this traffic is what delays a ping's echo (download
// direction) or the ping itself (upload direction); freeze stands for that delay here, as in
// TestProbeBytesFromPeerKeepItAlive.
func bulk(t *testing.T, src, dst *testPeer) {
	t.Helper()
	dst.h.SetStreamHandler(bulkProto, func(s network.Stream) { _, _ = io.Copy(io.Discard, s); _ = s.Reset() })
	ctx, cancel := context.WithCancel(context.Background())
	s, err := src.h.NewStream(ctx, dst.h.ID(), bulkProto)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 4<<10)
		for ctx.Err() == nil {
			if _, err := s.Write(buf); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Cleanup(func() { cancel(); _ = s.Reset(); wg.Wait() })
}

// Download direction: b keeps sending to a all along on another protocol of the same
// connection (bitswap blocks a fetches from b, blockpush acks, gossip): b is alive, and a's
// request to it waits its full time (it was failed when only the remote protocol's bytes
// counted; found in review).
func TestProbeBytesOnOtherProtocolKeepPeerAlive(t *testing.T) {
	a, b := pair(t, probeCfg)
	if _, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "warm"}); err != nil {
		t.Fatal(err)
	}
	freeze(t, b)
	bulk(t, b, a)
	ctx, cancel := context.WithTimeout(context.Background(), 8*probeCfg.ProbeAfter)
	defer cancel()
	_, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: "sink"})
	if !errors.Is(err, api.ErrTimeout) {
		t.Fatalf("err = %v, want a timeout: the peer was sending to us all along", err)
	}
}

// drain takes anything and answers nothing.
type drain struct{}

func (drain) Receive(actor.Context) {}

// Upload direction: a keeps sending to b (a pushed add, a batch's gossip, bitswap blocks b
// fetches from a), so on a slow link a's ping waits behind a's own upload and b has nothing to
// send back. Timed-out rounds do not fail b while the upload moves (found in review); once it
// stops, the next silent round does.
func TestProbeGraceWhileUploading(t *testing.T) {
	a, b := pair(t, probeCfg)
	if _, err := b.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return drain{} }), "drain"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "warm"}); err != nil {
		t.Fatal(err)
	}
	freeze(t, b)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		to := a.r.PID(b.h.ID(), "drain")
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				a.system.Root.Send(to, &blob{Data: make([]byte, 64<<10)})
			}
		}
	})
	round := probeCfg.ProbeAfter + probeCfg.ProbeTimeout
	ctx, cancel := context.WithTimeout(context.Background(), 3*round)
	defer cancel()
	_, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: "sink"})
	if !errors.Is(err, api.ErrTimeout) {
		t.Fatalf("err = %v, want a timeout: rounds timed out while we were sending", err)
	}
	close(stop)
	wg.Wait()
	_, err = a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "sink"})
	if !errors.Is(err, api.ErrUnavailable) {
		t.Fatalf("err = %v, want unavailable once the upload stopped", err)
	}
}

// A request that joins a peer's probe while a round's ping is already under way is not failed
// by that round's verdict: it gets a round of its own (found in review).
func TestProbeVerdictPredatesRequest(t *testing.T) {
	a, b := pair(t, probeCfg)
	if _, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "warm"}); err != nil {
		t.Fatal(err)
	}
	freeze(t, b)
	go func() { _, _ = a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "sink"}) }()
	// Join once the first request's round has its ping under way.
	for running := false; !running; time.Sleep(time.Millisecond) {
		a.r.mu.Lock()
		p := a.r.probes[b.h.ID()]
		running = p != nil && p.running
		a.r.mu.Unlock()
	}
	begin := time.Now()
	_, err := a.r.Request(context.Background(), a.r.PID(b.h.ID(), "echo"), &ping{Text: "sink"})
	if waited := time.Since(begin); waited < probeCfg.ProbeAfter+probeCfg.ProbeTimeout {
		t.Fatalf("failed after %s (err = %v): judged by a ping sent before the request was", waited.Round(time.Millisecond), err)
	}
}
