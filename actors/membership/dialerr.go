package membership

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/libp2p/go-libp2p/core/sec"
)

// secretMismatch reports whether a failed dial reached a listener that then broke off the
// security handshake, which between cluster peers almost always means that the two hold
// different cluster secrets. The secret is the private network's pre-shared key: every byte
// after the TCP connect is encrypted with it, so a listener keyed otherwise reads noise and
// fails the negotiation of the security protocol (a reset, an EOF or garbage; libp2p's upgrader
// has no error type for it, only the "failed to negotiate security protocol" wrapper, one per
// address tried). Left out, as they say nothing of the secret: a timeout (an overloaded peer
// times out there too; a listener keyed otherwise often waits for bytes that never come, but
// one of the next redials then fails clearly), and a peer ID mismatch (a stale address: the peer
// there was initialized again), and a connection closed before the listener read anything: the
// nonce it never sent, or a write into a closed socket. A listener of the same secret does that
// when it refuses the connection at accept (its resource manager's limits: too many
// connections, more than 8 from one address behind a NAT; no file descriptor left), so those
// say nothing of the secret either (review: they were warned of as a mismatch).
func secretMismatch(err error) bool {
	found := false
	visit(err, func(e error) {
		msg := e.Error()
		if !strings.HasPrefix(msg, "failed to negotiate security protocol: ") {
			return
		}
		var stale sec.ErrPeerIDMismatch
		var ne net.Error
		timeout := errors.Is(e, context.DeadlineExceeded) || errors.Is(e, os.ErrDeadlineExceeded) || errors.As(e, &ne) && ne.Timeout()
		refused := strings.Contains(msg, "could not read full nonce") || errors.Is(e, syscall.EPIPE) || strings.Contains(msg, "broken pipe")
		found = found || !timeout && !refused && !errors.As(e, &stale)
	})
	return found
}

// visit calls f on err and on every error it wraps, through Unwrap() error and Unwrap() []error
// (a libp2p dial error wraps one error per address).
func visit(err error, f func(error)) {
	if err == nil {
		return
	}
	f(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		visit(u.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			visit(e, f)
		}
	}
}
