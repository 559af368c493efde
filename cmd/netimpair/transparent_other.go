//go:build !linux

package main

import (
	"context"
	"errors"
	"net"
)

var errNoTransparent = errors.New("-transparent needs Linux (IP_TRANSPARENT)")

func listenTransparent(context.Context, string) (net.Listener, error) { return nil, errNoTransparent }

func dialTransparent(context.Context, net.Conn) (net.Conn, error) { return nil, errNoTransparent }
