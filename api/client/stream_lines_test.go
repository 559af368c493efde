package client

import (
	"bufio"
	"errors"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// TestDecodeLines: status streams go line by line; the daemon's lines take the fast decoder,
// others encoding/json; blank lines are skipped, a line longer than the reader's buffer is
// gathered, a truncated last line is an error, and fn's error comes back as it is.
func TestDecodeLines(t *testing.T) {
	fast := `{"cid":"` + testCid + `","name":"` + strings.Repeat("n", 10000) + `","allocations":[],"origins":[],"created":"2026-12-02T14:39:05Z","metadata":null,"peer_map":{}}`
	slow := `{ "cid": "` + testCid + `", "name": "x\u00e9", "metadata": {"k": "v"} }`
	body := "\n" + fast + "\n\n" + slow + "\n" + fast
	var got []api.GlobalPinInfo
	err := decodeLines(bufio.NewReaderSize(strings.NewReader(body), 16), func(g api.GlobalPinInfo) error {
		got = append(got, g)
		return nil
	})
	if err != nil || len(got) != 3 {
		t.Fatalf("got %d items, %v", len(got), err)
	}
	if len(got[0].Name) != 10000 || got[1].Name != "xé" || got[1].Metadata["k"] != "v" || got[2].Cid.String() != testCid {
		t.Fatalf("decoded %+v", got)
	}
	err = decodeLines(bufio.NewReader(strings.NewReader(fast+"\n"+fast[:40])), func(api.GlobalPinInfo) error { return nil })
	if err == nil {
		t.Fatal("a truncated last line was not an error")
	}
	stop := errors.New("stop")
	n := 0
	err = decodeLines(bufio.NewReader(strings.NewReader(fast+"\n"+fast+"\n")), func(api.GlobalPinInfo) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("fn's error: n=%d err=%v", n, err)
	}
}
