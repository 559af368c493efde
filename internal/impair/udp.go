package impair

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"
)

// DefaultUDPIdle is how long a UDP flow (one client address) lives without a datagram.
const DefaultUDPIdle = 2 * time.Minute

// UDPRelay relays datagrams between its clients and one Target, each client address over its
// own upstream socket (a flow), dropping and delaying datagrams in both directions as Link
// says. This is the relay-per-link form: QUIC or any UDP protocol works through it when the
// client is given the relay's address.
type UDPRelay struct {
	Link   Link
	Seed   uint64
	Target *net.UDPAddr
	Idle   time.Duration // 0 means DefaultUDPIdle
	Log    *slog.Logger
	Stats  Stats

	mu    sync.Mutex
	flows map[string]*udpFlow
	seq   uint64
	wg    sync.WaitGroup
}

// udpFlow is one client's flow: its upstream socket and the model of each direction.
type udpFlow struct {
	client *net.UDPAddr
	up     *net.UDPConn
	out    *model // client to target; used only by Serve's goroutine
	back   *model // target to client; used only by the flow's reader
}

// Serve relays datagrams arriving on pc until ctx ends (then it closes pc and every flow and
// returns nil) or pc fails.
func (r *UDPRelay) Serve(ctx context.Context, pc *net.UDPConn) error {
	r.mu.Lock()
	r.flows = map[string]*udpFlow{}
	r.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { pc.Close(); r.closeFlows() })
	defer stop()
	defer r.wg.Wait()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFromUDP(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.closeFlows()
			return err
		}
		f, err := r.flow(ctx, pc, from)
		if err != nil {
			r.logger().Debug("udp upstream failed", "client", from, "err", err)
			continue
		}
		r.send(f.out, append([]byte(nil), buf[:n]...), func(b []byte) { f.up.Write(b) })
	}
}

// send counts a datagram and drops it or schedules its delivery.
func (r *UDPRelay) send(m *model, b []byte, deliver func([]byte)) {
	r.Stats.Datagrams.Add(1)
	if m.lost() {
		r.Stats.Dropped.Add(1)
		return
	}
	d := m.delay()
	if d == 0 {
		deliver(b)
		return
	}
	time.AfterFunc(d, func() { deliver(b) })
}

// flow returns from's flow, opening its upstream socket and reader the first time.
func (r *UDPRelay) flow(ctx context.Context, pc *net.UDPConn, from *net.UDPAddr) (*udpFlow, error) {
	key := from.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.flows[key]; ok {
		return f, nil
	}
	up, err := net.DialUDP("udp", nil, r.Target)
	if err != nil {
		return nil, err
	}
	r.seq++
	f := &udpFlow{client: from, up: up, out: newModel(r.Link, r.Seed, 2*r.seq), back: newModel(r.Link, r.Seed, 2*r.seq+1)}
	r.flows[key] = f
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.readBack(ctx, pc, f, key)
	}()
	return f, nil
}

// readBack relays the target's answers to the client until the flow is idle or closed.
func (r *UDPRelay) readBack(ctx context.Context, pc *net.UDPConn, f *udpFlow, key string) {
	idle := r.Idle
	if idle <= 0 {
		idle = DefaultUDPIdle
	}
	defer func() {
		r.mu.Lock()
		if r.flows[key] == f {
			delete(r.flows, key)
		}
		r.mu.Unlock()
		f.up.Close()
	}()
	buf := make([]byte, 64<<10)
	for ctx.Err() == nil {
		f.up.SetReadDeadline(time.Now().Add(idle))
		n, err := f.up.Read(buf)
		if err != nil {
			return // idle past the read deadline, or closed
		}
		r.send(f.back, append([]byte(nil), buf[:n]...), func(b []byte) { pc.WriteToUDP(b, f.client) })
	}
}

func (r *UDPRelay) closeFlows() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.flows {
		f.up.Close()
	}
}

func (r *UDPRelay) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
