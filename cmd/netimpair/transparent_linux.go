package main

import (
	"context"
	"fmt"
	"net"
	"syscall"
)

// setTransparent sets IP_TRANSPARENT: a listener accepts connections to addresses that are not
// the host's, and a dialer may bind to one (the client's).
func setTransparent(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_TRANSPARENT, 1)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("IP_TRANSPARENT (needs CAP_NET_ADMIN): %w", serr)
	}
	return nil
}

func listenTransparent(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: setTransparent}
	return lc.Listen(ctx, "tcp4", addr)
}

// dialTransparent connects to the address the client dialled (the accepted connection's local
// address) from the client's own address, so the server sees the client, not the relay.
func dialTransparent(ctx context.Context, accepted net.Conn) (net.Conn, error) {
	client := accepted.RemoteAddr().(*net.TCPAddr)
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: client.IP},
		Control:   setTransparent,
	}
	return d.DialContext(ctx, "tcp4", accepted.LocalAddr().String())
}
