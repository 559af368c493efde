package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

const (
	cidA     = "bafybeiary2ibmljf3l466qzk5hud3rnlk7zped37oik64zlfh22sa5nrg4"
	cidB     = "QmXvQLhK2heNz65fWRabTfbzXwYfaBgEBuTdUJNzp69Xjx"
	cidGone  = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy" // the fake answers 404
	peerA    = "12D3KooWGbmjg3MDUYFosLNPbE1jKkv5fzKHD7wyGDa1P95iKMjF"
	peerB    = "QmYY1ggjoew5eFrvkenTR3F4uWqtkBkmgfJk8g9Qqcwy51"
	fakeTime = "2021-12-07T15:24:58Z"
)

// fakeAPI emulates pincluster's REST API with canned answers and records the requests.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []*http.Request
	parts    []string // add: "name|content-type"
	// pinStatus is the status the fake reports for every peer of a pinned CID.
	pinStatus string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, pinStatus: "pinned"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// maddr is the fake's multiaddr for --host.
func (f *fakeAPI) maddr() string {
	u, _ := url.Parse(f.srv.URL)
	h, p, _ := net.SplitHostPort(u.Host)
	return fmt.Sprintf("/ip4/%s/tcp/%s", h, p)
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// reset forgets the recorded requests.
func (f *fakeAPI) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

func (f *fakeAPI) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return nil
	}
	return f.requests[len(f.requests)-1]
}

// find returns the first recorded request with this method and path.
func (f *fakeAPI) find(method, path string) *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if r.Method == method && r.URL.Path == path {
			return r
		}
	}
	return nil
}

func mustPeer(s string) peer.ID {
	id, err := peer.Decode(s)
	if err != nil {
		panic(err)
	}
	return id
}

func mustCidT(s string) api.Cid {
	c, err := api.DecodeCid(s)
	if err != nil {
		panic(err)
	}
	return c
}

func fakeID(id, name string) api.ID {
	return api.ID{ID: mustPeer(id), Peername: name, Addresses: []string{"/ip4/127.0.0.1/tcp/9096/p2p/" + id},
		ClusterPeers: []peer.ID{mustPeer(peerA), mustPeer(peerB)}, Version: "0.1.0",
		IPFS: api.IPFSID{ID: "12D3KooWIPFS", Addresses: []string{"/ip4/127.0.0.1/tcp/4001"}}}
}

func fakePin(c string, q url.Values) api.Pin {
	ts, _ := time.Parse(time.RFC3339, fakeTime)
	opts, err := api.PinOptionsFromQuery(q, ts)
	if err != nil {
		opts = api.PinOptions{}
	}
	if opts.ReplicationFactorMin == 0 {
		opts.ReplicationFactorMin, opts.ReplicationFactorMax = 2, 3
	}
	p := api.NewPin(mustCidT(c), opts)
	p.Allocations = []peer.ID{mustPeer(peerB), mustPeer(peerA)}
	p.Timestamp = ts
	return p
}

func (f *fakeAPI) status(c string) api.GlobalPinInfo {
	ts, _ := time.Parse(time.RFC3339, fakeTime)
	f.mu.Lock()
	st := f.pinStatus
	f.mu.Unlock()
	s, _ := api.ParseTrackerStatusFilter(st)
	return api.GlobalPinInfo{Cid: mustCidT(c), Name: "site", PeerMap: map[string]api.PinInfoShort{
		peerA: {PeerName: "cluster0", Status: s, TS: ts},
		peerB: {PeerName: "cluster1", Status: api.TrackerStatusPinError, TS: ts, Error: "ipfs timed out", AttemptCount: 2},
	}}
}

func writeJSON(w http.ResponseWriter, v any) { _ = json.NewEncoder(w).Encode(v) }

func apiError(w http.ResponseWriter, code int, msg string) {
	w.WriteHeader(code)
	writeJSON(w, api.Error{Code: code, Message: msg})
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Clone(r.Context()))
	f.mu.Unlock()
	p, m, q := r.URL.Path, r.Method, r.URL.Query()
	seg := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case m == "GET" && p == "/id":
		writeJSON(w, fakeID(peerA, "cluster0"))
	case m == "GET" && p == "/version":
		writeJSON(w, api.Version{Version: "0.1.0"})
	case m == "GET" && p == "/peers":
		writeJSON(w, fakeID(peerA, "cluster0"))
		writeJSON(w, fakeID(peerB, "cluster1"))
	case m == "DELETE" && len(seg) == 2 && seg[0] == "peers":
		w.WriteHeader(http.StatusNoContent)
	case m == "GET" && p == "/stall":
		<-r.Context().Done()
	case strings.Contains(p, cidGone):
		apiError(w, 404, "pin "+cidGone+" not found")
	case m == "POST" && len(seg) >= 3 && seg[0] == "pins" && (seg[1] == "ipfs" || seg[1] == "ipns"):
		writeJSON(w, fakePin(cidA, q))
	case m == "POST" && p == "/pins/recover":
		writeJSON(w, f.status(cidA))
		writeJSON(w, f.status(cidB))
	case m == "POST" && len(seg) == 3 && seg[0] == "pins" && seg[2] == "recover":
		writeJSON(w, f.status(seg[1]))
	case m == "POST" && len(seg) == 2 && seg[0] == "pins":
		writeJSON(w, fakePin(seg[1], q))
	case m == "DELETE" && len(seg) == 2 && seg[0] == "pins":
		writeJSON(w, fakePin(seg[1], q))
	case m == "GET" && len(seg) == 2 && seg[0] == "pins":
		writeJSON(w, f.status(seg[1]))
	case m == "GET" && p == "/pins":
		w.Header().Set("Trailer", "X-Stream-Error")
		writeJSON(w, f.status(cidA))
		writeJSON(w, f.status(cidB))
		if q.Get("filter") == "unpinned" {
			w.Header().Set("X-Stream-Error", "status stream broke")
		}
	case m == "GET" && p == "/allocations":
		io.WriteString(w, "[")
		b1, _ := json.Marshal(fakePin(cidA, nil))
		b2, _ := json.Marshal(fakePin(cidB, url.Values{"replication-min": {"-1"}, "replication-max": {"-1"}}))
		w.Write(b1)
		io.WriteString(w, ",")
		w.Write(b2)
		io.WriteString(w, "]")
	case m == "GET" && len(seg) == 2 && seg[0] == "allocations":
		writeJSON(w, fakePin(seg[1], url.Values{"meta-a": {"b"}, "expire-at": {"2030-01-02T03:04:05Z"}, "mode": {"direct"}}))
	case m == "POST" && p == "/ipfs/gc":
		writeJSON(w, api.GlobalRepoGC{PeerMap: map[string]api.IPFSRepoGC{
			peerA: {Peer: mustPeer(peerA), Peername: "cluster0", Keys: []string{cidA}},
			peerB: {Peer: mustPeer(peerB), Peername: "cluster1", Error: "ipfs down"},
		}})
	case m == "GET" && p == "/health/graph":
		writeJSON(w, api.ConnectGraph{ClusterID: mustPeer(peerA), IDtoPeername: map[string]string{peerA: "cluster0", peerB: "cluster1"},
			ClusterLinks: map[string][]peer.ID{peerA: {mustPeer(peerB)}, peerB: {mustPeer(peerA)}}})
	case m == "GET" && p == "/health/alerts":
		writeJSON(w, []api.Alert{{Metric: api.Metric{Name: "ping", Peer: mustPeer(peerB), Expire: 1}, TriggeredAt: 2}})
	case m == "GET" && p == "/monitor/metrics":
		writeJSON(w, []string{"freespace", "pinqueue"})
	case m == "GET" && len(seg) == 3 && seg[0] == "monitor":
		writeJSON(w, api.Metric{Name: seg[2], Peer: mustPeer(peerA), Value: "1000", Weight: 1 << 30, Valid: true, Expire: time.Now().Add(time.Minute).UnixNano()})
	case m == "POST" && p == "/add":
		f.serveAdd(w, r)
	default:
		apiError(w, 404, "no route for "+m+" "+p)
	}
}

func (f *fakeAPI) serveAdd(w http.ResponseWriter, r *http.Request) {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		apiError(w, 400, "bad content type")
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var names []string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			apiError(w, 400, err.Error())
			return
		}
		_, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		name, _ := url.QueryUnescape(dp["filename"])
		n, _ := io.Copy(io.Discard, part)
		f.mu.Lock()
		f.parts = append(f.parts, name+"|"+part.Header.Get("Content-Type"))
		f.mu.Unlock()
		names = append(names, name)
		if n > 0 {
			writeJSON(w, api.AddedOutput{Name: name, Bytes: uint64(n)})
		}
	}
	for i := len(names) - 1; i >= 0; i-- { // root last, as Kubo does
		c := cidB
		if i == 0 {
			c = cidA
		}
		writeJSON(w, api.AddedOutput{Name: names[i], Cid: mustCidT(c), Size: 10})
	}
}
