package offlinestate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
)

// OwnSeqFile keeps, beside the pinset and outside it, the highest seq this identity has given
// its own ops (as of the last mark: actors/pinset writes it every so many ops and when it
// stops). A pinset replaced by an older copy or cleaned holds fewer of the peer's own ops than
// it made, and a peer numbering on from its pinset would reuse seqs the other members hold:
// they skip such ops as seen, and the pins are lost to the cluster. A pinset behind the mark
// makes the peer wait for a member to tell it which of its ops the cluster holds (pinset
// WithOwnSeq). The mark names its identity: another one (init -f) starts afresh.
const OwnSeqFile = "ownseq.json"

type ownSeqMark struct {
	Peer    string `json:"peer"`
	Seq     uint64 `json:"seq"`
	Comment string `json:"comment"`
}

// OwnSeq is the mark of id in dir: 0 when there is none, or it names another identity.
func OwnSeq(dir string, id libp2ppeer.ID) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, OwnSeqFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var m ownSeqMark
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, fmt.Errorf("%s is not valid JSON (remove it: the peer then numbers its ops from its state): %w", filepath.Join(dir, OwnSeqFile), err)
	}
	if m.Peer != id.String() {
		return 0, nil
	}
	return m.Seq, nil
}

// SaveOwnSeq records seq as id's mark in dir. The file is replaced by a rename, not synced:
// the pinset writer calls it every so many ops, and a mark lost to a power cut only leaves the
// check with an older one (the pinset's own writes are synced).
func SaveOwnSeq(dir string, id libp2ppeer.ID, seq uint64) error {
	b, err := json.Marshal(ownSeqMark{Peer: id.String(), Seq: seq,
		Comment: "the highest seq this peer has given its own ops; see the README (state restored or cleaned)"})
	if err != nil {
		return err
	}
	path := filepath.Join(dir, OwnSeqFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// PeerstoreFile is the daemon's list of the members it knows, in its config directory
// (maintained by actors/membership).
const PeerstoreFile = "peerstore"

// OwnSeqFloor is where this identity's new ops must be numbered from at least, by the mark in
// dir: the mark when dir's peerstore names other members (they may hold its ops past what the
// state holds), else 0 (a cluster of one: nobody else holds them, and numbering on from the
// state leaves no gap).
func OwnSeqFloor(dir string, id libp2ppeer.ID, bootstrap []string) (floor uint64, others bool, err error) {
	st, err := os.Stat(filepath.Join(dir, PeerstoreFile))
	others = len(bootstrap) > 0 || err == nil && st.Size() > 0
	if floor, err = OwnSeq(dir, id); err != nil || !others {
		return 0, others, err
	}
	return floor, others, nil
}
