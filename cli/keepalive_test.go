package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ingest"
)

// readUntil reads k until it has returned something else than empty lines, and returns it with
// the number of empty lines read before it.
func readUntil(t *testing.T, k *keepAlive) (string, int) {
	t.Helper()
	empty := 0
	buf := make([]byte, 1<<20)
	for {
		n, err := k.Read(buf)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if s := string(buf[:n]); s != "\n" {
			return s, empty
		}
		empty++
	}
}

// A pause between lines sends empty lines; the start of a line is held back until its end
// comes, so that no empty line is sent inside it; line numbers map back to the input's.
func TestKeepAliveSendsEmptyLinesBetweenLines(t *testing.T) {
	pr, pw := io.Pipe()
	k := newKeepAlive(pr, 10*time.Millisecond)
	go io.WriteString(pw, "a\nb") // then the producer pauses inside line 2
	// A slow start sends empty lines before "a" (pre), a slow close after "bc" (post): the
	// 10 ms interval is the only margin, so the test counts them rather than expects none.
	got, pre := readUntil(t, k)
	if got != "a\n" {
		t.Fatalf("first read %q, want the first line only", got)
	}
	buf := make([]byte, 16)
	if n, err := k.Read(buf); string(buf[:n]) != "\n" || err != nil {
		t.Fatalf("during the pause: %q %v, want an empty line", buf[:n], err)
	}
	go func() {
		io.WriteString(pw, "c\nd")
		pw.Close()
	}()
	got, more := readUntil(t, k)
	empty := 1 + more
	if got != "bc\n" {
		t.Fatalf("then %q, want \"bc\\n\"", got)
	}
	got, post := readUntil(t, k)
	if got != "d" {
		t.Fatalf("the last line without its end: %q", got)
	}
	if _, err := k.Read(buf); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// The daemon saw: pre empty lines, 1+pre "a", then empty ones, "bc", post empty ones, "d".
	a, bc, d := 1+pre, 2+pre+empty, 3+pre+empty+post
	if k.line(a) != 1 || k.line(bc) != 2 || k.line(d) != 3 {
		t.Fatalf("line map: %d %d %d with %d, %d and %d empty lines", k.line(a), k.line(bc), k.line(d), pre, empty, post)
	}
}

// A line longer than the daemon takes is not held back whole: it goes as it comes.
func TestKeepAliveForwardsOverlongLines(t *testing.T) {
	long := strings.Repeat("x", ingest.MaxLineBytes+100)
	k := newKeepAlive(strings.NewReader(long+"\nok\n"), time.Hour)
	b, err := io.ReadAll(k)
	if err != nil || string(b) != long+"\nok\n" {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
}

// batchEcho is a /pins/batch that reads the whole body, fails every line "bad" (numbered as
// the daemon does, empty lines included) and counts the empty lines it got.
type batchEcho struct {
	mu    sync.Mutex
	empty int
}

func (e *batchEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sc := bufio.NewScanner(r.Body)
	var evs []api.BatchEvent
	n, ok := 0, 0
	for sc.Scan() {
		n++
		switch l := sc.Text(); l {
		case "":
			e.mu.Lock()
			e.empty++
			e.mu.Unlock()
		case "bad":
			evs = append(evs, api.BatchEvent{Line: n, Input: l, Error: "bad line"})
		default:
			ok++
		}
	}
	evs = append(evs, api.BatchEvent{Done: true, OK: ok, Through: n})
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, ev := range evs {
		enc.Encode(ev)
	}
}

func (e *batchEcho) emptyLines() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.empty
}

func hostOf(t *testing.T, srv *httptest.Server) string {
	u, _ := url.Parse(srv.URL)
	h, p, _ := net.SplitHostPort(u.Host)
	return fmt.Sprintf("--host=/ip4/%s/tcp/%s", h, p)
}

// pin add --from - with a producer that pauses: empty lines keep the body moving, and failed
// lines are reported with the input's numbers.
func TestBatchFromPausingStdin(t *testing.T) {
	isolate(t)
	defer func(d time.Duration) { keepAliveEvery = d }(keepAliveEvery)
	keepAliveEvery = 10 * time.Millisecond
	echo := &batchEcho{}
	srv := httptest.NewServer(echo)
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, cidA+"\nbad\n")
		// The producer pauses until the daemon has had an empty line (at most 10 s).
		for i := 0; i < 2000 && echo.emptyLines() == 0; i++ {
			time.Sleep(5 * time.Millisecond)
		}
		io.WriteString(pw, "bad\n"+cidB+"\n")
		pw.Close()
	}()
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{hostOf(t, srv), "--enc", "json", "pin", "add", "--from", "-"}, IO{In: pr, Out: &out, Err: &errb})
	var sum batchSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("exit %d, output %q %q", code, out.String(), errb.String())
	}
	if code != 2 || sum.OK != 2 || len(sum.FailedLines) != 2 || sum.FailedLines[0].Line != 2 || sum.FailedLines[1].Line != 3 {
		t.Fatalf("exit %d, summary %+v, want lines 2 and 3 failed", code, sum)
	}
	if echo.emptyLines() == 0 {
		t.Fatal("no empty line was sent while the producer paused")
	}
}

// A named pipe (or a process substitution's /dev/fd/N) is read once: its first bytes, read
// to check it is text, are sent too (before, it was opened twice and they were lost).
func TestBatchFromNamedPipe(t *testing.T) {
	isolate(t)
	fifo := filepath.Join(t.TempDir(), "cids")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no named pipes: %v", err)
	}
	echo := &batchEcho{}
	srv := httptest.NewServer(echo)
	defer srv.Close()
	const lines = 2000 // over the 8 KiB looked at first
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		for i := 0; i < lines; i++ {
			fmt.Fprintln(f, cidA)
		}
	}()
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{hostOf(t, srv), "--enc", "json", "pin", "add", "--from", fifo}, IO{In: strings.NewReader(""), Out: &out, Err: &errb})
	var sum batchSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || code != 0 || sum.OK != lines || sum.Failed != 0 {
		t.Fatalf("exit %d, summary %+v (%v), stderr %q; want %d ok", code, sum, err, errb.String(), lines)
	}
}
