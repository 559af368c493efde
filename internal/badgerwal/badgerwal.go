// Package badgerwal repairs what a crash can leave in a Badger folder that Badger itself
// refuses to open.
//
// Badger creates a memtable's write-ahead log (NNNNN.mem) and then sizes and maps it. A
// process killed between the two leaves a file of zero bytes, and badger.Open (v4.9.6) fails
// on it for good ("while opening memtables err: while opening fid: N err: Create a new
// file"): a peer killed with SIGKILL during a batch ingest could not restart (seen in the
// batch-ingest acceptance flow). An empty log holds no write, not even its header, so
// removing it loses nothing; a log with any bytes is left to Badger.
package badgerwal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DropEmptyMemtables removes the zero-byte memtable logs (*.mem) directly in dir and returns
// their names. A missing dir is not an error (a store not created yet).
func DropEmptyMemtables(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return dropped, err
		}
		if info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return dropped, fmt.Errorf("removing the empty memtable log %s: %w", e.Name(), err)
		}
		dropped = append(dropped, e.Name())
	}
	return dropped, nil
}
