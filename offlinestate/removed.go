package offlinestate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/internal/atomicfile"
)

// RemovedFile marks a configuration directory whose peer was removed from the cluster (peers
// rm, leave_on_shutdown). The other peers refuse that identity's ops for good, so a daemon
// started again with it would acknowledge pins the cluster never takes: it refuses to start
// instead and says how to come back. A new identity (init -f) makes the mark moot.
const RemovedFile = "removed.json"

type removedMark struct {
	Peer    string    `json:"peer"`
	At      time.Time `json:"at"`
	Backup  string    `json:"backup,omitempty"`
	Comment string    `json:"comment"`
}

// MarkRemoved records in dir that id was removed and where its state went (Backup).
func MarkRemoved(dir string, id libp2ppeer.ID, backup string) error {
	b, err := json.MarshalIndent(removedMark{Peer: id.String(), At: time.Now().UTC(), Backup: backup,
		Comment: "this identity was removed from the cluster; run `pincluster init -f` to come back with a new one"}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, RemovedFile), append(b, '\n'), 0o600)
}

// CheckRemoved fails when dir's mark names id: the daemon must not start with that identity.
func CheckRemoved(dir string, id libp2ppeer.ID) error {
	path := filepath.Join(dir, RemovedFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var m removedMark
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if m.Peer != id.String() {
		return nil // a new identity since: the mark is history
	}
	where := ""
	if m.Backup != "" {
		where = " (its state is in " + m.Backup + ")"
	}
	return fmt.Errorf("this peer (%s) was removed from the cluster at %s%s, and the other peers refuse its identity for good: "+
		"run `pincluster init -f` for a new identity (keeping or re-setting the secret), then start it with --bootstrap",
		id, m.At.Format(time.RFC3339), where)
}
