package kubo

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
)

// holdMemLimit is how many bytes of a CAR ImportCAR holds in memory while it looks for the root
// block before spilling to a temp file (a variable so tests can lower it).
var holdMemLimit = 32 << 20

// spillBuffer holds bytes in memory up to limit, then in a file in the system's temp directory
// (the Kubo repo is the daemon's, not ours to write in). Close removes the file.
type spillBuffer struct {
	limit int
	mem   bytes.Buffer
	file  *os.File
	w     *bufio.Writer
	werr  error
}

func (s *spillBuffer) Write(p []byte) (int, error) {
	if s.werr != nil {
		return 0, s.werr
	}
	if s.file == nil && s.mem.Len()+len(p) <= s.limit {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "pincluster-car-*.tmp")
		if err != nil {
			s.werr = fmt.Errorf("holding the CAR on disk: %w", err)
			return 0, s.werr
		}
		s.file, s.w = f, bufio.NewWriterSize(f, 1<<20)
		if _, err := s.w.Write(s.mem.Bytes()); err != nil {
			s.werr = fmt.Errorf("holding the CAR on disk: %w", err)
			return 0, s.werr
		}
		s.mem = bytes.Buffer{}
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.werr = fmt.Errorf("holding the CAR on disk: %w", err)
	}
	return n, s.werr
}

// writeErr is the error that made a Write fail, if any.
func (s *spillBuffer) writeErr() error { return s.werr }

// Reader replays what was written. Writing must be over.
func (s *spillBuffer) Reader() (io.Reader, error) {
	if s.file == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	if err := s.w.Flush(); err != nil {
		return nil, fmt.Errorf("holding the CAR on disk: %w", err)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("holding the CAR on disk: %w", err)
	}
	return bufio.NewReaderSize(s.file, 1<<20), nil
}

// Close drops the held bytes and removes the file.
func (s *spillBuffer) Close() {
	s.mem = bytes.Buffer{}
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
		s.file = nil
	}
}
