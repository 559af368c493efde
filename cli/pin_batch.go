package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"

	"github.com/pincluster/pincluster/api"
)

// maxListedFailures bounds the failed lines kept for the JSON summary, so a file of a million
// bad lines does not make the CLI hold them all; the count stays exact.
const maxListedFailures = 100_000

// batchSummary is the --enc json output of pin add/rm --from.
type batchSummary struct {
	OK        int `json:"ok"`
	Failed    int `json:"failed"`
	Unchanged int `json:"unchanged"`
	// Through is the last input line the daemon accounted for (stored, unchanged or failed):
	// when the batch ends with an error, the lines after it are not confirmed stored and are
	// in no list (QA: "not in failed_lines" read as "stored"); running the input again
	// stores what is missing.
	Through     int                `json:"through"`
	HeldBy      int                `json:"held_by,omitempty"` // peers holding every line at the end (0: not asked)
	Peers       int                `json:"peers,omitempty"`
	FailedLines []api.BatchFailure `json:"failed_lines"`
	Truncated   bool               `json:"failed_lines_truncated,omitempty"`
	Seconds     float64            `json:"seconds"`
	PinsPerS    float64            `json:"pins_per_s"`
	Error       string             `json:"error,omitempty"`
}

// errLinesFailed ends a batch in which some lines failed (exit code 2, after the summary).
// errInterrupted ends a batch the user interrupted (^C, SIGTERM): exit code 130, as a shell
// reports a command ended by ^C.
type errInterrupted struct{ ok int }

func (e errInterrupted) Error() string {
	return fmt.Sprintf("interrupted after %d lines ok (each is stored); run the same command again to finish: the lines already in are left as they are", e.ok)
}

type errLinesFailed struct{ failed int }

func (e errLinesFailed) Error() string { return fmt.Sprintf("%d lines failed", e.failed) }

// runBatch streams the file (or stdin for "-") to POST /pins/batch and reports as the answer
// comes: failed lines as they are reported, a progress bar on a terminal, a summary at the end.
func runBatch(g *Globals, op api.BatchOp, from string, opts api.PinOptions) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	var size int64 = -1
	var read atomic.Int64
	// A stream (stdin, or a path that is not a regular file: a named pipe, a process
	// substitution's /dev/fd/N) is read once: it is sniffed for text through a buffer that
	// then sends what it peeked at, and sent through keepAlive (the producer may pause).
	var stream io.Reader
	if from == "-" {
		stream = g.io.In
	} else {
		st, err := os.Stat(from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		if st.IsDir() {
			return fmt.Errorf("--from %s is a directory: give a file of CIDs, one per line", from)
		}
		if st.Mode().IsRegular() {
			size = st.Size()
		} else {
			f, err := os.Open(from)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			defer f.Close()
			stream = f
		}
	}
	var buffered *bufio.Reader
	if err := checkText(g, from, stream, &buffered); err != nil {
		return err
	}
	var ka *keepAlive // the stream's, once sent
	opened := false
	open := func() (io.ReadCloser, error) {
		if stream != nil {
			if opened {
				return nil, fmt.Errorf("%s cannot be sent twice (the first daemon was unreachable)", streamName(from))
			}
			opened = true
			ka = newKeepAlive(buffered, keepAliveEvery)
			return io.NopCloser(&countingReader{r: ka, n: &read}), nil
		}
		f, err := os.Open(from)
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		read.Store(0)
		return &countingReader{r: f, c: f, n: &read}, nil
	}
	// line maps the daemon's line numbers to the input's (keepAlive's empty lines).
	line := func(n int) int {
		if ka == nil || n <= 0 {
			return n
		}
		return ka.line(n)
	}
	var bar *progressbar.ProgressBar
	total := int64(-1) // lines, estimated from the file's size and its first lines
	if g.io.TTY && !g.json() {
		if size > 0 {
			total = estimateLines(from, size)
		}
		bar = newBatchBar(g.io.Err, total, op)
	}
	sum := batchSummary{FailedLines: []api.BatchFailure{}}
	start := time.Now()
	ctx, cancel := g.ctx(true)
	defer cancel()
	// ^C ends the request, not the process: the lines acknowledged so far are durable, and
	// the summary says how far it got and how to finish.
	parent := ctx
	ctx, stopSignals := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	answered := false // the daemon took the batch (an event came)
	err = cl.Batch(ctx, op, opts, open, func(ev api.BatchEvent) error {
		answered = true
		ev.Line, ev.Through = line(ev.Line), line(ev.Through)
		sum.Through = max(sum.Through, ev.Through)
		switch {
		case ev.Line > 0:
			sum.Failed++
			if len(sum.FailedLines) < maxListedFailures {
				sum.FailedLines = append(sum.FailedLines, api.BatchFailure{Line: ev.Line, Input: ev.Input, Error: ev.Error})
			} else {
				sum.Truncated = true
			}
			if !g.json() {
				if bar != nil {
					_ = bar.Clear()
				}
				// The input is the file's bytes and the error may quote them: neither may
				// reach the terminal as it is (escape sequences).
				g.printf("line %d: %s: %s\n", ev.Line, quoteInput(ev.Input), escapeControls(ev.Error))
			}
		case ev.Done:
			sum.OK, sum.Unchanged, sum.HeldBy, sum.Peers = ev.OK, ev.Unchanged, ev.HeldBy, ev.Peers
		default:
			sum.OK = ev.OK
		}
		if bar != nil && ev.Through > 0 {
			v := int64(ev.Through)
			if total > 0 && v >= total && !ev.Done {
				v = total - 1 // an estimate: do not finish (and clear) the bar early
			}
			// Describe renders (Set64 alone may be throttled): set the value first.
			_ = bar.Set64(v)
			bar.Describe(fmt.Sprintf("%d ok, %d failed", sum.OK, sum.Failed))
		}
		return nil
	})
	if bar != nil {
		_ = bar.Finish()
		_ = bar.Clear()
	}
	sum.Seconds = time.Since(start).Seconds()
	sum.PinsPerS = float64(sum.OK) / max(sum.Seconds, 0.001)
	interrupted := err != nil && ctx.Err() != nil && parent.Err() == nil // a signal, not --timeout
	if interrupted {
		err = errInterrupted{ok: sum.OK}
	}
	if err != nil {
		sum.Error = err.Error()
	}
	verb := "pinned"
	if op == api.BatchUnpin {
		verb = "unpinned"
	}
	if g.json() {
		if perr := g.printJSON(sum); perr != nil && err == nil {
			err = perr
		}
	} else if answered || err == nil { // a refusal (403, an unreachable daemon) is its error alone
		held := ""
		if sum.Peers > 0 {
			held = fmt.Sprintf("; held by %d of %d peers", sum.HeldBy, sum.Peers)
		}
		g.printf("%s %d lines (%d already so), %d failed, in %.1fs (%.0f/s)%s\n", verb, sum.OK, sum.Unchanged, sum.Failed, sum.Seconds, sum.PinsPerS, held)
	}
	if interrupted {
		return err
	}
	if err != nil && !answered {
		return err
	}
	if err != nil {
		return fmt.Errorf("batch stopped after %d lines ok; input lines after %d are not confirmed stored (run the same input again: lines stored are not changed): %w", sum.OK, sum.Through, err)
	}
	if sum.Failed > 0 {
		return errLinesFailed{failed: sum.Failed}
	}
	return nil
}

// streamName names a stream input in messages.
func streamName(from string) string {
	if from == "-" {
		return "stdin"
	}
	return from
}

// sniffBytes is how much of the input is looked at before anything is sent.
const sniffBytes = 8 << 10

// checkText refuses an input that is not text (a binary file, a compressed or UTF-16 one) with
// one error, before anything is sent: the daemon would report most of its lines bad, one by
// one. A stream (non-nil) is read through *buffered, set to a reader that sends the bytes it
// looked at; a regular file is opened and read again when sent.
func checkText(g *Globals, from string, stream io.Reader, buffered **bufio.Reader) error {
	var head []byte
	name, cut := from, false // cut: head may end inside a character
	if stream != nil {
		name, cut = streamName(from), true
		*buffered = bufio.NewReaderSize(stream, sniffBytes)
		// What the first read brings (a slow producer's first lines are not held back for
		// more), without consuming it: the request sends it.
		if _, err := (*buffered).Peek(1); err == nil {
			head, _ = (*buffered).Peek((*buffered).Buffered())
		}
	} else {
		f, err := os.Open(from)
		if err != nil {
			return fmt.Errorf("--from: %w", err)
		}
		head = make([]byte, sniffBytes)
		n, err := io.ReadFull(f, head)
		f.Close()
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return fmt.Errorf("--from: %w", err)
		}
		head, cut = head[:n], n == sniffBytes
	}
	if why := notText(head, cut); why != "" {
		return fmt.Errorf("%s does not look like a text file of CIDs (%s); nothing was sent", name, why)
	}
	return nil
}

// notText says why head, the start of an input, is not text of CIDs, or "" when it may be.
// Invalid UTF-8 is tolerated in a few bytes (a name in Latin-1 is reported on its line), not
// in a quarter of them. cut says head ends where the sniffing stopped, perhaps inside a rune.
func notText(head []byte, cut bool) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}) || bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return "it is UTF-16: convert it to UTF-8"
	case bytes.IndexByte(head, 0) >= 0:
		return "it has NUL bytes"
	}
	invalid := 0
	for i := 0; i < len(head); {
		r, n := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && n <= 1 {
			if cut && !utf8.FullRune(head[i:]) {
				break
			}
			invalid++
		}
		i += max(n, 1)
	}
	if invalid > 0 && invalid*4 >= len(head) {
		return fmt.Sprintf("%d of its first %d bytes are not UTF-8", invalid, len(head))
	}
	return ""
}

// maxEcho bounds a failed line's input as printed.
const maxEcho = 120

// quoteInput is a failed line's input for the terminal: quoted with Go's escapes (control
// bytes such as ESC and BEL included), cut to maxEcho bytes.
func quoteInput(s string) string {
	if len(s) <= maxEcho {
		return strconv.Quote(s)
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// escapeControls writes the control characters of s (an error from the daemon, which may
// quote the input) as Go escapes, leaving the rest of the text as it is.
func escapeControls(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// newBatchBar is the progress bar of a batch: lines acknowledged (count, rate, ETA) out of
// total (estimated; -1: unknown, a spinner). Bytes sent would not do: the HTTP transport reads
// megabytes ahead of what the daemon has committed.
func newBatchBar(w io.Writer, total int64, op api.BatchOp) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(string(op)+"ning"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("lines"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
}

// estimateLines guesses the lines of a file of size bytes from its first 256 KiB (-1 when it
// cannot be read).
func estimateLines(path string, size int64) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	n, _ := io.ReadFull(f, buf)
	lines := int64(bytes.Count(buf[:n], []byte{'\n'}))
	if n == 0 || lines == 0 {
		return -1
	}
	return max(1, lines*size/int64(n))
}

// countingReader counts the bytes read (for the progress bar, read from another goroutine).
type countingReader struct {
	r io.Reader
	c io.Closer
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error {
	if c.c != nil {
		return c.c.Close()
	}
	return nil
}

// checkFrom checks that a pin command names exactly one of a CID and --from, and that --from
// comes without the status flags of a single pin.
func checkFrom(target, from string, noStatus bool, w WaitFlags) error {
	switch {
	case target == "" && from == "":
		return fmt.Errorf(`expected "<cid-or-path>" or --from FILE`)
	case target != "" && from != "":
		return fmt.Errorf("give either a CID or --from FILE, not both")
	case from != "" && (w.Wait || w.WaitTimeout > 0 || noStatus):
		return fmt.Errorf("--from does not take --wait, --wait-timeout or --no-status (check with pincluster status afterwards)")
	}
	return nil
}
