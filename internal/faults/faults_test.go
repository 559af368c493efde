package faults

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	gocid "github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/poll"
	"github.com/pincluster/pincluster/ipfs/fake"
)

func open(t *testing.T, c Config) (*Faults, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "faults.json")
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f, path
}

func testCid(t *testing.T) api.Cid {
	t.Helper()
	h, err := mh.Sum([]byte("faults test"), mh.IDENTITY, -1)
	if err != nil {
		t.Fatal(err)
	}
	return api.NewCid(gocid.NewCidV1(gocid.Raw, h))
}

func TestFromEnvUnsetIsNil(t *testing.T) {
	t.Setenv(EnvVar, "")
	f, err := FromEnv(context.Background(), nil)
	if f != nil || err != nil {
		t.Fatalf("FromEnv without %s = %v, %v; want nil, nil", EnvVar, f, err)
	}
}

func TestOpenRejectsBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faults.json")
	if _, err := Open(context.Background(), path, nil); err == nil {
		t.Fatal("Open of a missing file succeeded")
	}
	if err := Save(path, Config{BlockPeers: []string{"not-a-peer"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), path, nil); err == nil {
		t.Fatal("Open accepted a bad peer ID in block_peers")
	}
}

func TestClockSkewAndDiskFullReloadOnSIGUSR1(t *testing.T) {
	f, path := open(t, Config{})
	if err := f.StoreWriteFault(); err != nil {
		t.Fatalf("no faults, but StoreWriteFault = %v", err)
	}
	if d := time.Until(f.Now()); d > time.Second || d < -time.Second {
		t.Fatalf("no skew, but Now is %s away from the wall clock", d)
	}
	if err := Save(path, Config{ClockSkew: config.Duration(-time.Hour), DiskFull: true}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(5*time.Second, 5*time.Millisecond, func() bool { return f.Current().DiskFull }) {
		t.Fatal("SIGUSR1 did not reload the fault file")
	}
	if err := f.StoreWriteFault(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("disk_full: StoreWriteFault = %v, want ENOSPC", err)
	}
	if d := time.Until(f.Now()); d > -59*time.Minute || d < -61*time.Minute {
		t.Fatalf("clock_skew -1h: Now is %s from the wall clock", d)
	}
}

func TestBackendDelayAndFail(t *testing.T) {
	f, path := open(t, Config{IPFSFail: true})
	fb := fake.New()
	b := f.WrapBackend(fb)
	c := testCid(t)
	ctx := context.Background()
	if err := b.Pin(ctx, c, api.PinModeRecursive, nil); !errors.Is(err, ErrIPFS) {
		t.Fatalf("ipfs_fail: Pin = %v, want ErrIPFS", err)
	}
	if err := Save(path, Config{IPFSDelay: config.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.Pin(short, c, api.PinModeRecursive, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ipfs_delay 1h under a 20ms context: Pin = %v, want the context's deadline", err)
	}
	if err := Save(path, Config{}); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := b.Pin(ctx, c, api.PinModeRecursive, nil); err != nil {
		t.Fatalf("faults cleared: Pin = %v", err)
	}
	if ok, _, _ := fb.IsPinned(ctx, c); !ok {
		t.Fatal("the wrapped backend did not pin")
	}
}

func newHost(t *testing.T, f *Faults) host.Host {
	t.Helper()
	opts := []libp2p.Option{libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableRelay()}
	if f != nil {
		opts = append(opts, libp2p.ConnectionGater(f.Gater()))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func TestPartitionClosesAndRefusesConnections(t *testing.T) {
	f, path := open(t, Config{})
	a := newHost(t, f)
	f.Attach(a)
	b := newHost(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	binfo := peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}
	if err := a.Connect(ctx, binfo); err != nil {
		t.Fatalf("no partition, but connect failed: %v", err)
	}
	if err := Save(path, Config{BlockPeers: []string{b.ID().String()}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Reload(); err != nil {
		t.Fatal(err)
	}
	if !poll.Until(5*time.Second, 10*time.Millisecond, func() bool { return a.Network().Connectedness(b.ID()) != network.Connected }) {
		t.Fatal("reload did not close the connection to the blocked peer")
	}
	if err := a.Connect(ctx, binfo); err == nil {
		t.Fatal("dial to a blocked peer succeeded")
	}
	b.Peerstore().AddAddrs(a.ID(), a.Addrs(), time.Minute)
	if err := b.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: a.Addrs()}); err == nil {
		if !poll.Until(2*time.Second, 10*time.Millisecond, func() bool { return b.Network().Connectedness(a.ID()) != network.Connected }) {
			t.Fatal("the blocked peer's inbound connection was accepted")
		}
	}
}
