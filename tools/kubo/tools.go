//go:build tools

// Package tools pins the Kubo daemon the kubo IPFS backend's tests run against. Build it with
// `make kubo` (tools/kubo/bin/ipfs); `make test-kubo` runs ipfs/kubo's tests against it.
package tools

import (
	_ "github.com/ipfs/kubo/cmd/ipfs"
)
