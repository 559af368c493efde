package testcluster

import (
	"bytes"
	"log/slog"
	"os"
	"sync"
	"testing"
)

// logSink collects every peer's log lines in memory (printed when the test fails), or streams
// them to stderr when TESTCLUSTER_LOG is set. Peers' goroutines may log after the test ends, so
// it never writes through testing.T from them.
type logSink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	stream bool
}

// maxLog bounds what a failing test prints (the most recent lines are kept).
const maxLog = 1 << 20

func newLogSink() *logSink { return &logSink{stream: os.Getenv("TESTCLUSTER_LOG") != ""} }

func (s *logSink) Write(b []byte) (int, error) {
	if s.stream {
		return os.Stderr.Write(b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len()+len(b) > 2*maxLog {
		keep := append([]byte(nil), s.buf.Bytes()[s.buf.Len()-maxLog:]...)
		s.buf.Reset()
		s.buf.Write(keep)
	}
	return s.buf.Write(b)
}

func (s *logSink) logger(i int) *slog.Logger {
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", i)
}

func (s *logSink) dump(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buf.Bytes()
	if len(b) > maxLog {
		b = b[len(b)-maxLog:]
	}
	if len(b) > 0 {
		t.Logf("peer logs (most recent last):\n%s", b)
	}
}
