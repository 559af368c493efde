// Package identity is a peer's libp2p key pair and its file, identity.json. It is apart from
// peer because init and the offline state commands read and write it without a peer.
package identity

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/atomicfile"
)

// Identity is the peer's libp2p key pair, stored in identity.json apart from the shareable
// service.json (as IPFS Cluster does).
type Identity struct {
	ID      libp2ppeer.ID
	PrivKey crypto.PrivKey
}

type identityJSON struct {
	ID         string `json:"id"`
	PrivateKey string `json:"private_key"`
}

// New generates an Ed25519 identity.
func New() (Identity, error) {
	priv, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return Identity{}, err
	}
	id, err := libp2ppeer.IDFromPrivateKey(priv)
	if err != nil {
		return Identity{}, err
	}
	return Identity{ID: id, PrivKey: priv}, nil
}

// Load reads dir/identity.json.
func Load(dir string) (Identity, error) {
	path := filepath.Join(dir, config.IdentityFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return Identity{}, err
	}
	var j identityJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Identity{}, fmt.Errorf("%s: %v", path, err)
	}
	raw, err := base64.StdEncoding.DecodeString(j.PrivateKey)
	if err != nil {
		return Identity{}, fmt.Errorf("%s: private_key is not base64: %v", path, err)
	}
	priv, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return Identity{}, fmt.Errorf("%s: bad private_key: %v", path, err)
	}
	id, err := libp2ppeer.IDFromPrivateKey(priv)
	if err != nil {
		return Identity{}, err
	}
	if j.ID != "" && j.ID != id.String() {
		return Identity{}, fmt.Errorf("%s: id %s does not match the private key (%s)", path, j.ID, id)
	}
	return Identity{ID: id, PrivKey: priv}, nil
}

// Save writes dir/identity.json with mode 0600.
func (i Identity) Save(dir string) error {
	raw, err := crypto.MarshalPrivateKey(i.PrivKey)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(identityJSON{ID: i.ID.String(), PrivateKey: base64.StdEncoding.EncodeToString(raw)}, "", "  ")
	return atomicfile.Write(filepath.Join(dir, config.IdentityFile), append(b, '\n'), 0o600)
}
