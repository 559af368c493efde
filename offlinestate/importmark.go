package offlinestate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pincluster/pincluster/internal/atomicfile"
)

// ImportMarkFile marks a configuration directory whose `state import` has not finished.
//
// An import writes in many transactions (a pinset of millions does not fit one): the pins of
// the file, then unpins of what it did not hold. Stopped in between (^C, a crash, a full
// disk), the pinset is part old and part new, and a daemon started on it would broadcast that
// mix as this peer's wish. So Import writes this mark before its first write and removes it
// after its last; the daemon refuses to start while it is there. Running the same import again
// finishes the job (it is idempotent: pins already as in the file are rewritten the same, the
// unpin pass runs at its end), as does `state cleanup` (a fresh state).
const ImportMarkFile = "import-incomplete"

func markImport(dir string) error {
	body := fmt.Sprintf("a state import into this peer started at %s and has not finished: run it again, or state cleanup\n",
		time.Now().UTC().Format(time.RFC3339))
	if err := atomicfile.Write(filepath.Join(dir, ImportMarkFile), []byte(body), 0o600); err != nil {
		return fmt.Errorf("marking the import as in progress (nothing imported): %w", err)
	}
	return nil
}

func unmarkImport(dir string) error {
	if err := os.Remove(filepath.Join(dir, ImportMarkFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the import is complete, but its mark stays (remove %s by hand): %w", filepath.Join(dir, ImportMarkFile), err)
	}
	return nil
}

// CheckImport fails when an import into dir did not finish: the daemon must not start on a
// half-imported pinset.
func CheckImport(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, ImportMarkFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%s (%s); the pinset holds part of it, and the daemon does not start on it", strings.TrimSpace(string(b)), filepath.Join(dir, ImportMarkFile))
}
