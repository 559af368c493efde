package faults

import "github.com/pincluster/pincluster/ipfs"

// Unwrap is the wrapped backend (ipfs.Wrapper): a cluster add's pushed blocks go straight to
// it; the faults touch only Pin and Unpin.
func (b backend) Unwrap() ipfs.Backend { return b.Backend }
