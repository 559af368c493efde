package statusdigest

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
)

// A heartbeat tells its publisher's peername and its IPFS node's peer ID, so that global status
// answered from a replica shows them (IPFS Cluster's peers learn them from ping metrics). They
// ride on heartbeats only: a replica knows them one heartbeat after its publisher starts, and
// deltas stay as small as they were.

const (
	// MaxPeernameBytes bounds a heartbeat's peername. Nothing bounds cluster.peername in the
	// config, so the encoder cuts a longer one (at a rune boundary) rather than send a
	// heartbeat every other peer would refuse.
	MaxPeernameBytes = 255
	// MaxIPFSIDBytes bounds a heartbeat's IPFS peer ID text (the longest peer ID, an inlined
	// 42-byte key written as a base32 CID, is 75 characters). It is checked before the ID is
	// parsed: base58 decoding is quadratic in the length.
	MaxIPFSIDBytes = 128
)

// announcedName is name as a heartbeat carries it: valid UTF-8 of at most MaxPeernameBytes.
func announcedName(name string) string { return clipUTF8(name, MaxPeernameBytes) }

// clipUTF8 is s as valid UTF-8 (proto3 strings must be) cut to at most n bytes on a character
// boundary.
func clipUTF8(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// announcedIPFS is id as a heartbeat carries it: none when the decoder would refuse it, so
// that a bad ID from the IPFS node never costs the heartbeat.
func announcedIPFS(id string) string {
	if checkIPFSID(id) != nil {
		return ""
	}
	return id
}

// checkIdentity validates a decoded peername and IPFS peer ID.
func checkIdentity(name, id string) error {
	if len(name) > MaxPeernameBytes {
		return fmt.Errorf("status digest: a peername of %d bytes (limit %d)", len(name), MaxPeernameBytes)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("status digest: a peername that is not valid UTF-8")
	}
	return checkIPFSID(id)
}

// checkIPFSID validates an IPFS peer ID text ("": none).
func checkIPFSID(id string) error {
	if id == "" {
		return nil
	}
	if len(id) > MaxIPFSIDBytes {
		return fmt.Errorf("status digest: an IPFS peer ID of %d bytes (limit %d)", len(id), MaxIPFSIDBytes)
	}
	if _, err := peer.Decode(id); err != nil {
		return fmt.Errorf("status digest: IPFS peer ID: %w", err)
	}
	return nil
}
