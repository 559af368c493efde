package ingest

import (
	"context"
	"io"
	"sync"
)

// readChunks is the run's reader: it owns the body, parses it and sends chunks until the end,
// a read error (sent as the last chunk) or ctx's end. It closes out.
//
// A chunk is sent when it has ChunkLines lines. Before the reader waits for input that has not
// arrived (Reader.OnWait), it parks the lines it holds in h, where Run takes them when it has
// nothing else to do: a writer that sends a few lines and pauses (a crawler piping its finds)
// has them committed and acknowledged then, not once 4096 have come, and a ^C or a dropped
// connection loses none of them. A fast writer keeps Run busy, so its chunks stay whole; the
// reader takes back what Run did not take when the input comes.
func readChunks(ctx context.Context, r *Reader, out chan<- chunk, h *handoff) {
	defer close(out)
	lines := make([]Line, 0, ChunkLines)
	parked := false
	r.OnWait(func() {
		if len(lines) > 0 {
			h.park(lines)
			lines, parked = nil, true
		}
	})
	send := func(c chunk) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		l, err := r.Next()
		if parked {
			parked = false
			if lines = h.take(); lines == nil { // Run took them
				lines = make([]Line, 0, ChunkLines)
			}
		}
		if err == io.EOF {
			if len(lines) > 0 {
				send(chunk{lines: lines})
			}
			return
		}
		if err != nil {
			send(chunk{err: err})
			return
		}
		if l.Err != nil || len(l.input) > maxInputEcho {
			l.input = append([]byte(nil), l.input[:min(len(l.input), maxInputEcho+1)]...)
		} else {
			l.input = append([]byte(nil), l.input...)
		}
		lines = append(lines, l)
		if len(lines) == ChunkLines {
			if !send(chunk{lines: lines}) {
				return
			}
			lines = make([]Line, 0, ChunkLines)
		}
	}
}

// handoff holds the lines the reader parked while it waits for input.
type handoff struct {
	mu    sync.Mutex
	lines []Line
	ready chan struct{} // signalled when lines are parked
}

func newHandoff() *handoff { return &handoff{ready: make(chan struct{}, 1)} }

func (h *handoff) park(lines []Line) {
	h.mu.Lock()
	h.lines = lines
	h.mu.Unlock()
	h.signal()
}

func (h *handoff) signal() {
	select {
	case h.ready <- struct{}{}:
	default:
	}
}

// take returns the parked lines, nil when there are none (taken already).
func (h *handoff) take() []Line {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.lines
	h.lines = nil
	return l
}

// next returns Run's next chunk: a sent chunk, else the parked lines once the reader parks
// some; ok is false at the end of the input. Sent chunks go first: every line in out is older
// than the parked ones (the reader takes its parked lines back before it sends). When the
// commit in flight (done, nil without one) ends first, it returns its outcome as committed, so
// that its lines are acknowledged while the writer pauses.
func next(out <-chan chunk, h *handoff, done <-chan error) (c chunk, ok bool, committed *error) {
	for {
		select {
		case err := <-done:
			return chunk{}, false, &err
		case c, ok := <-out:
			return c, ok, nil
		case <-h.ready:
			select {
			case c, ok := <-out:
				h.signal() // the parked lines, if any, come after
				return c, ok, nil
			default:
			}
			if l := h.take(); l != nil {
				return chunk{lines: l}, true, nil
			}
		}
	}
}
