package peer

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/pnet"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	lpconnmgr "github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/identity"
)

// newHost starts the peer's single libp2p host: TCP only (a private network rules out QUIC),
// Noise, and the cluster secret as the pre-shared key, so a peer with another secret cannot even
// complete a handshake.
func newHost(_ context.Context, ident identity.Identity, listen []string, secret []byte, cm config.ConnMgr, gater connmgr.ConnectionGater, bw metrics.Reporter, log *slog.Logger) (host.Host, error) {
	// The membership actor owns the connections: it keeps links to about low_water members
	// (all of them in a cluster of up to low_water+1 peers) and protects them here, so the
	// manager's trimming, past high_water, closes only connections nobody chose to keep
	// (on-demand calls, other peers' stand-ins for their lost links). libp2p's default
	// manager (trim to 160 past 192, protecting nothing) fought the membership's redials.
	mgr, err := lpconnmgr.NewConnManager(cm.LowWater, cm.HighWater, lpconnmgr.WithGracePeriod(cm.GracePeriod.D()))
	if err != nil {
		return nil, fmt.Errorf("cluster.connection_manager: %w", err)
	}
	limits := resourceLimits(cm)
	if fd := limits.ToPartialLimitConfig().System.FD; fd >= 0 && int(fd) < connRoom(cm) {
		// libp2p takes half the open-file limit (Go raises the soft limit to the hard one):
		// past it new connections are refused before the connection manager ever trims.
		log.Warn("the open-file limit leaves libp2p fewer descriptors than cluster.connection_manager.high_water needs: raise the hard limit (ulimit -Hn, LimitNOFILE=) or lower high_water",
			"libp2p_fds", int(fd), "high_water", cm.HighWater)
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits))
	if err != nil {
		_ = mgr.Close()
		return nil, fmt.Errorf("libp2p resource manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.ResourceManager(rm),
		libp2p.Identity(ident.PrivKey),
		libp2p.ListenAddrStrings(listen...),
		libp2p.PrivateNetwork(pnet.PSK(secret)),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		// Peers dial the addresses they are given; nothing here needs NAT detection. The ambient
		// AutoNAT client it replaces only subscribed to identify events, and its background
		// loop stalling at close blocked identify's emit and so host.Close (seen at 100 peers).
		libp2p.ForceReachabilityPublic(),
		libp2p.ConnectionManager(mgr),
	}
	if gater != nil {
		opts = append(opts, libp2p.ConnectionGater(gater))
	}
	if bw != nil {
		opts = append(opts, libp2p.BandwidthReporter(bw))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		_ = rm.Close()
		_ = mgr.Close()
		return nil, fmt.Errorf("cluster.listen_multiaddress %v: cannot start the libp2p host: %w", listen, err)
	}
	return h, nil
}

// connRoom is how many connections the host must allow: a quarter more than high_water leaves
// room for what arrives between two trims (every 10 s).
func connRoom(cm config.ConnMgr) int { return cm.HighWater + cm.HighWater/4 }

// resourceLimits are libp2p's default limits (scaled to the machine's memory and file
// descriptors) with room for high_water connections. The default allows 128 connections plus
// 128 per GB of a machine's memory/8, inbound half of that (256 and 128 on an 8 GB host): below
// 16 GB the connection manager would never reach high_water (400) to trim, new connections
// would be refused instead, and a refused link looks down to the membership.
func resourceLimits(cm config.ConnMgr) rcmgr.ConcreteLimitConfig {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	scaled := limits.AutoScale()
	part := scaled.ToPartialLimitConfig()
	want := rcmgr.LimitVal(connRoom(cm))
	for _, v := range []*rcmgr.LimitVal{&part.System.Conns, &part.System.ConnsInbound, &part.System.ConnsOutbound} {
		if *v >= 0 && *v < want { // not Unlimited or BlockAll
			*v = want
		}
	}
	return part.Build(scaled)
}
