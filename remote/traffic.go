package remote

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	lping "github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

// TrafficCounter counts, exactly and per peer, the bytes a libp2p host's streams read from and
// write to each peer: the liveness probes' evidence (Config.Traffic). libp2p's own
// BandwidthCounter updates its totals once a second, too coarse to tell whether anything came
// during one probe round. It is a metrics.Reporter (libp2p.BandwidthReporter) that passes
// every call on to Inner when set, which answers the bandwidth queries (zero without it). The
// ping protocol's own bytes are not counted where its streams are labelled (outbound): a
// probe's ping is no evidence either way.
// Forget drops a disconnected peer's counts.
type TrafficCounter struct {
	Inner metrics.Reporter
	peers sync.Map // peer.ID -> *peerTraffic
	// net (set by ForgetOnDisconnect) keeps a forgotten peer out: bytes read before a
	// disconnection can be reported after the notification that forgot the peer (a stream's
	// lazy handshake, an identify stream's negotiation), and counting them would bring the peer
	// back for good (found by remote/traffic_test.go under load, 1 run in 300).
	net atomic.Pointer[network.Network]
}

type peerTraffic struct{ in, out atomic.Int64 }

var _ metrics.Reporter = (*TrafficCounter)(nil)

// of is p's counts, nil when p has none and is not connected (ForgetOnDisconnect).
func (c *TrafficCounter) of(p peer.ID) *peerTraffic {
	if t, ok := c.peers.Load(p); ok {
		return t.(*peerTraffic)
	}
	n := c.net.Load()
	if n != nil && (*n).Connectedness(p) != network.Connected {
		return nil
	}
	t, _ := c.peers.LoadOrStore(p, new(peerTraffic))
	// A disconnection between the check and the store: the swarm drops the connection before
	// it notifies, so either its Forget runs after the store or this check sees it.
	if n != nil && (*n).Connectedness(p) != network.Connected {
		c.peers.CompareAndDelete(p, t)
		return nil
	}
	return t.(*peerTraffic)
}

// Traffic is the bytes received from and sent to p since it was last forgotten.
func (c *TrafficCounter) Traffic(p peer.ID) (in, out int64) {
	if t, ok := c.peers.Load(p); ok {
		t := t.(*peerTraffic)
		return t.in.Load(), t.out.Load()
	}
	return 0, 0
}

// Forget drops p's counts (a probe round across it sees a change, never a strike).
func (c *TrafficCounter) Forget(p peer.ID) { c.peers.Delete(p) }

// ForgetOnDisconnect has n's disconnections forget their peers once no connection is left.
func (c *TrafficCounter) ForgetOnDisconnect(n network.Network) {
	c.net.Store(&n)
	n.Notify(&network.NotifyBundle{DisconnectedF: func(n network.Network, conn network.Conn) {
		if p := conn.RemotePeer(); n.Connectedness(p) != network.Connected {
			c.Forget(p)
		}
	}})
}

func (c *TrafficCounter) LogSentMessageStream(size int64, proto protocol.ID, p peer.ID) {
	if size > 0 && proto != lping.ID { // a 0-byte call after a Forget must not bring p back
		if t := c.of(p); t != nil {
			t.out.Add(size)
		}
	}
	if c.Inner != nil {
		c.Inner.LogSentMessageStream(size, proto, p)
	}
}

func (c *TrafficCounter) LogRecvMessageStream(size int64, proto protocol.ID, p peer.ID) {
	if size > 0 && proto != lping.ID {
		if t := c.of(p); t != nil {
			t.in.Add(size)
		}
	}
	if c.Inner != nil {
		c.Inner.LogRecvMessageStream(size, proto, p)
	}
}

func (c *TrafficCounter) LogSentMessage(size int64) {
	if c.Inner != nil {
		c.Inner.LogSentMessage(size)
	}
}

func (c *TrafficCounter) LogRecvMessage(size int64) {
	if c.Inner != nil {
		c.Inner.LogRecvMessage(size)
	}
}

func (c *TrafficCounter) GetBandwidthForPeer(p peer.ID) metrics.Stats {
	if c.Inner != nil {
		return c.Inner.GetBandwidthForPeer(p)
	}
	return metrics.Stats{}
}

func (c *TrafficCounter) GetBandwidthForProtocol(proto protocol.ID) metrics.Stats {
	if c.Inner != nil {
		return c.Inner.GetBandwidthForProtocol(proto)
	}
	return metrics.Stats{}
}

func (c *TrafficCounter) GetBandwidthTotals() metrics.Stats {
	if c.Inner != nil {
		return c.Inner.GetBandwidthTotals()
	}
	return metrics.Stats{}
}

func (c *TrafficCounter) GetBandwidthByPeer() map[peer.ID]metrics.Stats {
	if c.Inner != nil {
		return c.Inner.GetBandwidthByPeer()
	}
	return map[peer.ID]metrics.Stats{}
}

func (c *TrafficCounter) GetBandwidthByProtocol() map[protocol.ID]metrics.Stats {
	if c.Inner != nil {
		return c.Inner.GetBandwidthByProtocol()
	}
	return map[protocol.ID]metrics.Stats{}
}

func (c *TrafficCounter) Reset() {
	if c.Inner != nil {
		c.Inner.Reset()
	}
}

func (c *TrafficCounter) TrimIdle(since time.Time) {
	if c.Inner != nil {
		c.Inner.TrimIdle(since)
	}
}
