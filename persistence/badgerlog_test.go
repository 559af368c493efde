package persistence

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestBadgerCacheAdviceIsDebug: Badger's minutely "might be too small" advice and the histogram
// after it are logged at debug level; its other warnings stay warnings.
func TestBadgerCacheAdviceIsDebug(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	l.Warningf("%s might be too small. Metrics: %s\n", "Block cache", "hit: 1 miss: 9")
	l.Warningf("Cache life expectancy (in seconds): %+v\n", "histogram")
	if buf.Len() != 0 {
		t.Fatalf("cache advice logged as a warning: %s", buf.String())
	}
	l.Warningf("Value log GC: %v", "something")
	if !strings.Contains(buf.String(), "level=WARN") {
		t.Fatalf("another warning was not logged as one: %q", buf.String())
	}
}
