package impair

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pincluster/pincluster/internal/poll"
)

// startTCP runs a relay with link in front of target and returns its address.
func startTCP(t *testing.T, l Link, target string) (*TCPRelay, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &TCPRelay{Link: l, Seed: 1, Dial: DialTarget(target)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return r, ln.Addr().String()
}

// echoServer echoes every connection until it closes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// A stream through a lossy, jittery relay arrives whole and in order, and a round trip takes
// at least twice the least one-way delay.
func TestTCPRelayDeliversInOrderAfterTheDelay(t *testing.T) {
	l := Link{Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.05}
	r, addr := startTCP(t, l, echoServer(t))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 1<<20)
	rand.Read(msg)
	start := time.Now()
	go func() {
		c.Write(msg)
		c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt < 2*(l.Delay-l.Jitter) {
		t.Fatalf("echo came back after %v, less than two one-way delays", rtt)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echoed %d bytes, not the %d sent (or not in order)", len(got), len(msg))
	}
	if r.Stats.Streams.Load() != 1 || r.Stats.Bytes.Load() != 2*int64(len(msg)) {
		t.Fatalf("stats: %s", &r.Stats)
	}
	// 1 MiB is about 725 segments each way; at 5% some are lost.
	if r.Stats.LostSegments.Load() == 0 || r.Stats.Segments.Load() < 2*int64(len(msg)/MSS) {
		t.Fatalf("stats: %s", &r.Stats)
	}
}

// A small request and its answer: the answer comes no sooner than two delays (a ping).
func TestTCPRelayRoundTripIsAtLeastTwoDelays(t *testing.T) {
	l := Link{Delay: 30 * time.Millisecond}
	_, addr := startTCP(t, l, echoServer(t))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 4)
	for range 3 {
		start := time.Now()
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		if rtt := time.Since(start); rtt < 2*l.Delay {
			t.Fatalf("round trip %v, less than 2 x %v", rtt, l.Delay)
		}
	}
}

// When the upstream cannot be dialled, the client's connection is closed, and the relay keeps
// serving.
func TestTCPRelayClosesWhenUpstreamIsDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	_, addr := startTCP(t, Link{}, dead)
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("read %d, %v; want the connection closed", n, err)
		}
		c.Close()
	}
}

// UDP: with a fixed seed the relay drops about Loss of the datagrams each way, the client gets
// exactly the echoes the relay did not drop, and the first echo takes at least two delays.
func TestUDPRelayDropsAndDelays(t *testing.T) {
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	var echoed atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := echo.ReadFromUDP(buf)
			if err != nil {
				return
			}
			echoed.Add(1)
			echo.WriteToUDP(buf[:n], from)
		}
	}()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	l := Link{Delay: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.2}
	r := &UDPRelay{Link: l, Seed: 3, Target: echo.LocalAddr().(*net.UDPAddr)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, pc) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	c, err := net.DialUDP("udp", nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var received atomic.Int64
	first := make(chan time.Time, 1)
	go func() {
		buf := make([]byte, 16)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			if received.Add(1) == 1 {
				first <- time.Now()
			}
		}
	}()
	// Ten datagrams at a time, each window settled before the next: every datagram is decided
	// once out and, if it reached the echo, once back, and every drop is one echo the client
	// never gets. Windows keep bursts small, so loopback's socket buffers never overflow.
	const sent, window = 500, 10
	start := time.Now()
	for w := 0; w < sent/window; w++ {
		for i := range window {
			c.Write([]byte{byte(w), byte(i)})
		}
		n := int64((w + 1) * window)
		ok := poll.Until(10*time.Second, time.Millisecond, func() bool {
			return r.Stats.Datagrams.Load() == n+echoed.Load() && received.Load() == n-r.Stats.Dropped.Load()
		})
		if !ok {
			t.Fatalf("after %d sent: echoed %d, received %d; relay: %s", n, echoed.Load(), received.Load(), &r.Stats)
		}
	}
	if at := <-first; at.Sub(start) < 2*(l.Delay-l.Jitter) {
		t.Fatalf("the first echo came back after %v, sooner than two delays", at.Sub(start))
	}
	p := float64(r.Stats.Dropped.Load()) / float64(r.Stats.Datagrams.Load())
	if p < 0.15 || p > 0.25 {
		t.Fatalf("dropped %.3f of datagrams, want about %.2f (%s)", p, l.Loss, &r.Stats)
	}
}
