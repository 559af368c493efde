// Package logdedup keeps a failing part of the daemon from flooding its log.
//
// On a full disk every write of every part fails, and each logged it: QA saw thousands of
// identical warnings a minute, which buried the one line that said what was wrong (and, sent
// to journald, filled the disk further). A Handler lets the first record of a kind through
// (same level and message, whatever the attributes: they hold the CID or the peer that
// varies) and drops the same kind for Window after it; the first one let through after that
// says how many were dropped ("suppressed"). Records below Warn pass untouched (Info is rare,
// Debug is asked for). No timer: a kind that stops coming never reports its last count,
// which the line before it already described.
package logdedup

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Window is how long records of one kind are dropped after one is let through.
const Window = 10 * time.Second

// maxKinds bounds the kinds remembered; past it the table starts again (some repeats pass).
const maxKinds = 4096

type kind struct {
	level slog.Level
	msg   string
}

type seen struct {
	at         time.Time // when the last one was let through
	suppressed int
}

type state struct {
	mu    sync.Mutex
	kinds map[kind]*seen
	now   func() time.Time
}

// Handler wraps another handler; handlers derived with WithAttrs/WithGroup share its table.
type Handler struct {
	next slog.Handler
	s    *state
}

// New wraps next.
func New(next slog.Handler) *Handler {
	return &Handler{next: next, s: &state{kinds: map[kind]*seen{}, now: time.Now}}
}

func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	n, ok := h.s.admit(kind{r.Level, r.Message})
	if !ok {
		return nil
	}
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", n), slog.Duration("suppressed_within", Window))
	}
	return h.next.Handle(ctx, r)
}

// admit says whether a record of k goes out, and how many were dropped before it.
func (s *state) admit(k kind) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	e, ok := s.kinds[k]
	if !ok {
		if len(s.kinds) >= maxKinds {
			clear(s.kinds)
		}
		s.kinds[k] = &seen{at: now}
		return 0, true
	}
	if now.Sub(e.at) < Window {
		e.suppressed++
		return 0, false
	}
	n := e.suppressed
	e.at, e.suppressed = now, 0
	return n, true
}

func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs), s: h.s}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), s: h.s}
}
