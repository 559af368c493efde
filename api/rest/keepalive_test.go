package rest

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

// An add that, after reading its multipart body, waits longer than read_timeout (for a replica,
// as cluster's add does for up to 10 minutes) leaves the connection either reusable or closed:
// never with the end of the chunked body (sent after the closing boundary, which is all the
// multipart reader reads) left unread, for net/http to parse as the next request and answer
// "400 Bad Request" on the idle connection (the client logs "Unsolicited response received on
// idle HTTP channel").
func TestAddKeepAliveAfterLongAdd(t *testing.T) {
	const readTimeout = 100 * time.Millisecond
	s, f := newTestServer(t, func(c *Config) { c.ReadTimeout = readTimeout })
	base := startServer(t, s)
	noReplica := &api.AfterPinError{Err: fmt.Errorf("%w: no allocated peer fetched it", api.ErrTimeout)}
	tests := []struct {
		name       string
		query      string
		err        error
		status     int
		streamCode string // X-Stream-Error-Code
		keepAlive  bool   // the connection must serve the next request
		lateEnd    bool   // the body's end is sent only after the answer
	}{
		{"success", "", nil, 200, "", true, false},
		{"no replica in time", "", noReplica, 200, "504", true, false},
		{"timeout before the pin", "", fmt.Errorf("%w: pinning took too long", api.ErrTimeout), 504, "", false, false},
		{"progress, no replica in time", "?progress=true", noReplica, 200, "504", false, false},
		{"body end late", "", noReplica, 200, "504", false, true},
		{"progress, body end late", "?progress=true", noReplica, 200, "504", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parsed := make(chan struct{})
			f.addFn = func(ctx context.Context, mr *multipart.Reader, _ io.Reader, p api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
				for {
					part, err := mr.NextPart()
					if err == io.EOF {
						break
					}
					if err != nil {
						return api.CidUndef, err
					}
					io.Copy(io.Discard, part)
				}
				close(parsed)
				if p.Progress {
					out(api.AddedOutput{Name: "a", Bytes: 5})
				}
				out(api.AddedOutput{Name: "a", Cid: testCid("a")})
				time.Sleep(3 * readTimeout) // the wait for a replica
				return testCid("a"), tt.err
			}
			body, ct := kuboBody(t)
			b, _ := io.ReadAll(body)
			c := dialRaw(t, base, "POST", "/add"+tt.query, "Content-Type", ct, "Transfer-Encoding", "chunked")
			c.write(fmt.Sprintf("%x\r\n%s\r\n", len(b), b))
			select {
			case <-parsed:
			case <-timeout(t):
				t.Fatal("the body was never parsed")
			}
			const end = "0\r\n\r\n" // the end of the body, after the closing boundary
			if !tt.lateEnd {
				c.write(end)
			}
			resp, out, _ := c.response()
			if resp.StatusCode != tt.status || resp.Trailer.Get(streamErrorCodeTrailer) != tt.streamCode {
				t.Fatalf("answer %d %q, trailer code %q; want %d, %q", resp.StatusCode, out, resp.Trailer.Get(streamErrorCodeTrailer), tt.status, tt.streamCode)
			}
			if tt.status >= 400 {
				wantJSONError(t, resp, out, tt.status, "took too long")
			}
			if tt.keepAlive && resp.Close {
				t.Fatal("Connection: close after an add that read its whole body")
			}

			// The next request on the connection: answered as itself, or refused by a closed
			// connection that the answer announced.
			next := "GET /id HTTP/1.1\r\nHost: test\r\n\r\n"
			if tt.lateEnd {
				next = end + next
			}
			_, err := c.conn.Write([]byte(next))
			var nresp *http.Response
			if err == nil {
				c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				nresp, err = http.ReadResponse(c.br, nil)
			}
			switch {
			case err != nil && resp.Close:
			case err != nil:
				t.Fatalf("connection dropped without Connection: close: %v", err)
			case nresp.StatusCode != http.StatusOK:
				b, _ := io.ReadAll(nresp.Body)
				t.Fatalf("second request answered %d %q: a stray answer on the kept-alive connection", nresp.StatusCode, strings.TrimSpace(string(b)))
			default:
				io.Copy(io.Discard, nresp.Body)
				nresp.Body.Close()
			}
		})
	}
}
