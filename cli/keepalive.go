package cli

import (
	"bytes"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/pincluster/pincluster/ingest"
)

// keepAliveEvery is how long the input of a batch may pause before an empty line is sent. The
// daemon ends a batch whose body stalls for its read_timeout (30 s by default); an empty line
// is skipped but resets that clock.
var keepAliveEvery = 2 * time.Second

// keepAlive forwards an input that may pause (stdin, a pipe) as a batch body, so that a slow
// producer (a crawler piping its finds) does not have its batch ended by the daemon's
// read_timeout:
//   - a line is forwarded once its end has come: the start of a line is held back (a producer
//     with buffered output pauses in the middle of one), so a pause always falls between lines;
//   - when the input has paused for keepAliveEvery, an empty line is sent, again every
//     keepAliveEvery while it lasts;
//   - the daemon numbers the empty lines too: line maps its numbers back to the input's.
//
// A line longer than the daemon takes is forwarded as it comes (the daemon refuses it); no
// empty line is sent until its end.
type keepAlive struct {
	in    <-chan readChunk
	every time.Duration

	out     []byte // to forward
	tail    []byte // the start of a line, held back
	err     error  // the input's end (io.EOF) or error, once tail is out
	midLine bool   // the last byte forwarded was not the end of a line

	mu       sync.Mutex
	lines    int   // line ends forwarded (the daemon's line count)
	inserted []int // the daemon's numbers of the empty lines sent
}

type readChunk struct {
	b   []byte
	err error
}

// newKeepAlive reads src in an I/O worker that sends what each read brings; the worker ends
// at src's end or error (a read of stdin cannot be interrupted: at a ^C it ends with the
// process).
func newKeepAlive(src io.Reader, every time.Duration) *keepAlive {
	ch := make(chan readChunk, 4)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 || err != nil {
				ch <- readChunk{b: buf[:n], err: err}
			}
			if err != nil {
				return
			}
		}
	}()
	return &keepAlive{in: ch, every: every}
}

func (k *keepAlive) Read(p []byte) (int, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if len(k.out) > 0 {
			n := copy(p, k.out)
			k.forwarded(k.out[:n])
			k.out = k.out[n:]
			return n, nil
		}
		if k.err != nil {
			return 0, k.err
		}
		if timer == nil {
			timer = time.NewTimer(k.every)
		}
		select {
		case c, ok := <-k.in:
			if !ok {
				c.err = io.EOF
			}
			k.take(c)
		case <-timer.C:
			timer.Reset(k.every)
			if !k.midLine {
				k.mu.Lock()
				k.inserted = append(k.inserted, k.lines+1)
				k.mu.Unlock()
				k.out = []byte{'\n'}
			}
		}
	}
}

// take queues what a read brought: up to its last line end; the rest is held back, unless it
// is longer than any line the daemon takes.
func (k *keepAlive) take(c readChunk) {
	buf := append(k.tail, c.b...)
	k.tail = nil
	if c.err != nil {
		k.out, k.err = buf, c.err
		return
	}
	i := bytes.LastIndexByte(buf, '\n')
	if i < 0 && len(buf) <= ingest.MaxLineBytes+2 {
		k.tail = buf
		return
	}
	if i < 0 {
		k.out = buf
		return
	}
	k.out, k.tail = buf[:i+1], append([]byte(nil), buf[i+1:]...)
}

// forwarded counts the line ends sent.
func (k *keepAlive) forwarded(b []byte) {
	if len(b) == 0 {
		return
	}
	k.midLine = b[len(b)-1] != '\n'
	if n := bytes.Count(b, []byte{'\n'}); n > 0 {
		k.mu.Lock()
		k.lines += n
		k.mu.Unlock()
	}
}

// line maps a line number of the daemon's to the input's: less the empty lines sent before it.
func (k *keepAlive) line(n int) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return n - sort.SearchInts(k.inserted, n)
}
