package ipfsproxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequestParsing feeds arbitrary query strings and argument bodies to the parsing of a pin
// request: it must never panic, and a path it accepts must name a CID or a path to resolve.
func FuzzRequestParsing(f *testing.F) {
	f.Add("arg=bafkqaaa&recursive=false", "")
	f.Add("arg=/ipfs/bafkqaaa/a/b&arg=QmPZ9gcCEpqKTo6aq61g2nXGUhM4iCL3ewB6LDXZCtioEB", "bafkqaaa\n\n")
	f.Add("arg=%zz", "--b\r\n")
	f.Add("arg=/ipns/example.com&progress", "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--b--\r\n")
	f.Fuzz(func(t *testing.T, rawQuery, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v0/pin/add", strings.NewReader(body))
		r.URL.RawQuery = rawQuery
		if body != "" {
			r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		}
		q, err := parseQuery(r)
		if err != nil {
			return
		}
		q.bool(true, "recursive", "r")
		q.int("offset")
		argv, err := args(r, q, true)
		if err != nil {
			return
		}
		ps, err := parsePaths(argv, "ipfs-path", false)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.cid.Defined() && !strings.HasPrefix(p.path, "/ip") {
				t.Fatalf("accepted %+v", p)
			}
		}
	})
}
