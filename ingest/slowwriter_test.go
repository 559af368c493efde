package ingest

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// A writer that sends a few lines and pauses has them committed and acknowledged before it
// goes on, not once a whole chunk has come (before, they waited for 4096 lines or the end, and
// a producer piping its finds lost them on a ^C).
func TestRunCommitsWhatASlowWriterSent(t *testing.T) {
	deps := newMemDeps()
	svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	pr, pw := io.Pipe()
	acks := make(chan api.BatchEvent, 16)
	done := make(chan error, 1)
	go func() {
		_, err := svc.Run(context.Background(), pr, Request{Op: api.BatchPin}, func(ev api.BatchEvent) error {
			if ev.Line == 0 && !ev.Done {
				acks <- ev
			}
			return nil
		})
		done <- err
	}()
	lines := strings.Split(strings.TrimSpace(genCids(t, 20)), "\n")
	for round, part := range [][]string{lines[:10], lines[10:]} {
		if _, err := io.WriteString(pw, strings.Join(part, "\n")+"\n"); err != nil {
			t.Fatal(err)
		}
		want := 10 * (round + 1)
		for got := 0; got < want; {
			select {
			case ev := <-acks:
				got = ev.OK
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: %d lines acknowledged while the writer waits, want %d", round, got, want)
			}
		}
		if len(deps.storedPins()) != want {
			t.Fatalf("round %d: %d stored, want %d", round, len(deps.storedPins()), want)
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func (m *memDeps) storedPins() map[string]api.Pin {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]api.Pin, len(m.pins))
	for k, v := range m.pins {
		out[k] = v
	}
	return out
}
