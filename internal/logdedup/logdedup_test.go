package logdedup

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRepeatedWarningsAreSuppressedAndCounted(t *testing.T) {
	var buf bytes.Buffer
	h := New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := time.Unix(0, 0)
	h.s.now = func() time.Time { return clock }
	log := slog.New(h).With("component", "pinset")
	for i := range 100 {
		log.Warn("write failed", "cid", i)
		log.Info("progress", "i", i) // below Warn: never dropped
	}
	log.Error("write failed", "cid", 0) // another level: another kind
	clock = clock.Add(Window)
	log.Warn("write failed", "cid", 100)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	warns := 0
	for _, l := range lines {
		if strings.Contains(l, "level=WARN") {
			warns++
		}
	}
	if warns != 2 {
		t.Fatalf("%d warnings let through, want 2:\n%s", warns, buf.String())
	}
	last := lines[len(lines)-1]
	if !strings.Contains(last, "suppressed=99") || !strings.Contains(last, "cid=100") || !strings.Contains(last, "component=pinset") {
		t.Fatalf("the warning after the window: %s", last)
	}
	if got := strings.Count(buf.String(), "level=INFO"); got != 100 {
		t.Fatalf("%d info lines, want 100", got)
	}
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Fatal("an error of the same message was dropped")
	}
}
