package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

func reencoded(t *testing.T, g api.GlobalPinInfo) string {
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// TestStatusAllText: text from a daemon that renders it is copied as is; JSON from one that
// does not (with or without a Content-Type, which Go then sniffs as text/plain) is rendered
// and filtered here; a stream error after the first block is returned. StatusAllNDJSON copies
// lines declared canonical and decodes, filters and encodes any other JSON.
func TestStatusAllText(t *testing.T) {
	c, err := api.DecodeCid(testCid)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 12, 2, 1, 2, 3, 4, time.UTC)
	pinned := api.GlobalPinInfo{Cid: c, Name: "a", PeerMap: map[string]api.PinInfoShort{"p1": {PeerName: "one", Status: api.TrackerStatusPinned, TS: ts}}}
	failed := api.GlobalPinInfo{Cid: c, Name: "b", PeerMap: map[string]api.PinInfoShort{"p1": {PeerName: "one", Status: api.TrackerStatusPinError, TS: ts, Error: "e"}}}
	jsonBody := func() string {
		a, _ := json.Marshal(pinned)
		b, _ := json.Marshal(failed)
		return string(a) + "\n" + string(b) + "\n"
	}()
	cases := []struct {
		name, ctype, body, filter, trailer string
		want, wantErr                      string
		ndjson                             bool
	}{
		{name: "text", ctype: api.StatusTextType, body: "daemon's own text\n", want: "daemon's own text\n"},
		{name: "json", ctype: "application/json", body: jsonBody,
			want: string(api.AppendStatusText(api.AppendStatusText(nil, pinned), failed))},
		{name: "sniffed json", body: jsonBody, filter: "error", want: string(api.AppendStatusText(nil, failed))},
		{name: "empty", ctype: api.StatusTextType},
		{name: "canonical lines", ndjson: true, ctype: api.StatusNDJSONType, body: "copied as is\n", want: "copied as is\n"},
		{name: "other json", ndjson: true, ctype: "application/json", filter: "pinned",
			body: strings.ReplaceAll(jsonBody, `,"`, `, "`), want: reencoded(t, pinned)},
		{name: "error after a block", ctype: api.StatusTextType, body: "block\n", trailer: "peers went away",
			want: "block\n", wantErr: "peers went away"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var accept, query string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				accept, query = r.Header.Get("Accept"), r.URL.RawQuery
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.Header().Set("Trailer", StreamErrorTrailer)
				w.Write([]byte(tc.body))
				if tc.trailer != "" {
					w.Header().Set(StreamErrorTrailer, tc.trailer)
				}
			})
			cl, _ := newTestClient(t, h, Config{})
			var out strings.Builder
			write, wantAccept := cl.StatusAllText, "text/plain"
			if tc.ndjson {
				write, wantAccept = cl.StatusAllNDJSON, api.StatusNDJSONType
			}
			err := write(context.Background(), tc.filter, true, false, nil, &out)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if out.String() != tc.want {
				t.Fatalf("wrote\n%q\nwant\n%q", out.String(), tc.want)
			}
			if !strings.HasPrefix(accept, wantAccept) || !strings.Contains(query, "local=true") {
				t.Fatalf("asked with Accept %q, query %q", accept, query)
			}
		})
	}
	cl, _ := newTestClient(t, http.NotFoundHandler(), Config{})
	if err := cl.StatusAllText(context.Background(), "bogus", false, false, nil, &strings.Builder{}); err == nil {
		t.Fatal("an unknown filter was not refused")
	}
}
