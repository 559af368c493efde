// Package testpeer makes peer IDs for tests: real Ed25519 identities (they survive a JSON or
// wire round trip, unlike short fake IDs), the same for the same seed on every run, so golden
// bytes and orderings stay stable.
package testpeer

import (
	"bytes"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ID is the peer ID of the Ed25519 key generated from seed.
func ID(t testing.TB, seed byte) peer.ID {
	t.Helper()
	priv, _, err := crypto.GenerateEd25519Key(bytes.NewReader(bytes.Repeat([]byte{seed}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
