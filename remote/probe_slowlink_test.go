package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	lping "github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/pincluster/pincluster/api"
)

// slowLink is a loopback TCP proxy whose upstream direction (dialer to listener) carries
// rate bytes a second; the other direction is not limited. What the dialer writes beyond
// that waits in the kernel buffers, as behind a slow uplink.
func slowLink(t *testing.T, to ma.Multiaddr, rate int) ma.Multiaddr {
	t.Helper()
	dst, err := manet.ToNetAddr(to)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", dst.String())
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, d)
			mu.Unlock()
			wg.Add(2)
			go func() { // upstream, limited
				defer wg.Done()
				const chunk = 4 << 10
				buf := make([]byte, chunk)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := d.Write(buf[:n]); werr != nil {
							return
						}
						time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
					}
					if err != nil {
						return
					}
				}
			}()
			go func() { defer wg.Done(); _, _ = io.Copy(c, d) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	addr, err := manet.FromNetAddr(ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// a pushes a large add to b (blockpush: b acks every 4 MiB) over a slow uplink. b is alive:
// it reads everything, answers every ping as soon as the ping reaches it, and answers the
// request. a's pings wait behind a's own upload in the kernel's buffers, so rounds time out
// with nothing from b; while a's upload moves, b is not declared lost (found in review: it
// was, after one or two rounds).
func TestProbeUploadOnSlowLinkKeepsLivePeer(t *testing.T) {
	for _, rate := range []int{512 << 10, 2 << 20} {
		t.Run(byteRate(rate), func(t *testing.T) {
			a := newTestPeer(t, probeCfg, testRegistry(t))
			b := newTestPeer(t, probeCfg, testRegistry(t))
			if _, err := b.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
				return lateActor{system: b.system, delay: 500 * time.Millisecond}
			}), "late"); err != nil {
				t.Fatal(err)
			}
			via := slowLink(t, b.h.Addrs()[0], rate)
			ctx := context.Background()
			if err := a.h.Connect(ctx, peer.AddrInfo{ID: b.h.ID(), Addrs: []ma.Multiaddr{via}}); err != nil {
				t.Fatal(err)
			}
			waitPingKnown(t, a.h, b.h.ID()) // else the requests are not probed at all
			if _, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "late"), &ping{Text: "warm"}); err != nil {
				t.Fatal(err)
			}
			b.h.SetStreamHandler(bulkProto, func(s network.Stream) { _, _ = io.Copy(io.Discard, s); _ = s.Reset() })
			s, err := a.h.NewStream(ctx, b.h.ID(), bulkProto)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() {
				buf := make([]byte, 32<<10)
				for {
					if _, err := s.Write(buf); err != nil {
						return
					}
				}
			})
			defer func() { _ = s.Reset(); wg.Wait() }()
			time.Sleep(time.Second)
			pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			res := <-lping.Ping(pctx, a.h, b.h.ID())
			cancel()
			t.Logf("a ping to b while uploading: rtt %s, err %v", res.RTT.Round(time.Millisecond), res.Error)

			rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
			defer rcancel()
			begin := time.Now()
			_, err = a.r.Request(rctx, a.r.PID(b.h.ID(), "late"), &ping{Text: "x"})
			t.Logf("request after %s: %v", time.Since(begin).Round(time.Millisecond), err)
			if errors.Is(err, api.ErrUnavailable) {
				t.Fatalf("a live peer reading a's upload was declared lost: %v", err)
			}
		})
	}
}

func byteRate(r int) string {
	if r >= 1<<20 {
		return fmt.Sprintf("%dMiBps", r>>20)
	}
	return fmt.Sprintf("%dKiBps", r>>10)
}
