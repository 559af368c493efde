package ipfsproxy

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strconv"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// repoStat is Kubo's repo/stat answer.
type repoStat struct {
	RepoSize   uint64
	StorageMax uint64
	NumObjects uint64
	RepoPath   string
	Version    string
}

// repoStat reports this peer's IPFS node (not a sum over the cluster). size-only leaves out
// NumObjects, as Kubo does.
func (s *Server) repoStat(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	sizeOnly, err := q.bool(false, "size-only")
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := q.bool(false, "human"); err != nil {
		writeError(w, err)
		return
	}
	st, err := s.d.Node.RepoStat(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	out := repoStat{RepoSize: st.RepoSize, StorageMax: st.StorageMax, NumObjects: st.NumObjects, RepoPath: "pincluster", Version: "pincluster-" + s.d.Version}
	if sizeOnly {
		writeJSON(w, struct{ RepoSize, StorageMax uint64 }{st.RepoSize, st.StorageMax})
		return
	}
	writeJSON(w, out)
}

// gcResult is a line of Kubo's repo/gc stream.
type gcResult struct {
	Key   *cidLink `json:",omitempty"`
	Error string   `json:",omitempty"`
}

// repoGC runs a gc on every peer's IPFS node (the Health service) and streams the removed keys
// of all of them, then one Error line per peer whose gc failed (Kubo streams errors as lines
// too). It answers when every peer has finished.
func (s *Server) repoGC(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	for _, o := range []string{"stream-errors", "quiet", "silent"} {
		if _, err := q.bool(false, o); err != nil {
			writeError(w, err)
			return
		}
	}
	res, err := s.d.Health.IPFSGC(r.Context(), false)
	if err != nil {
		writeError(w, err)
		return
	}
	peers := sortedKeys(res.PeerMap)
	st := newStream(w, "application/json", "X-Chunked-Output")
	for _, p := range peers {
		for _, k := range res.PeerMap[p].Keys {
			if st.json(gcResult{Key: &cidLink{k}}) != nil {
				st.finish(nil)
				return
			}
		}
	}
	var failed []string
	for _, p := range peers {
		if e := res.PeerMap[p].Error; e != "" {
			name := res.PeerMap[p].Peername
			if name == "" {
				name = p
			}
			failed = append(failed, fmt.Sprintf("repo gc on peer %s: %s", name, e))
		}
	}
	sort.Strings(failed)
	for _, f := range failed {
		st.json(gcResult{Error: f})
	}
	st.finish(nil)
}

// idOutput is Kubo's id answer.
type idOutput struct {
	ID           string
	PublicKey    string
	Addresses    []string
	AgentVersion string
	Protocols    []string
}

// id describes the embedded node; another peer's id needs routing it does not have (501).
func (s *Server) id(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	node, err := s.d.Node.ID(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	if argv := q["arg"]; len(argv) > 0 && argv[0] != node.ID {
		if _, err := peer.Decode(argv[0]); err != nil {
			writeError(w, badArg("invalid peer id %q: %v", argv[0], err))
			return
		}
		writeError(w, fmt.Errorf("%w: id of another peer: the embedded IPFS node has no peer routing", ErrNotImplemented))
		return
	}
	out := idOutput{ID: node.ID, Addresses: node.Addresses, AgentVersion: "pincluster/" + s.d.Version, Protocols: []string{}}
	if out.Addresses == nil {
		out.Addresses = []string{}
	}
	if pid, err := peer.Decode(node.ID); err == nil {
		if pk, err := pid.ExtractPublicKey(); err == nil {
			if b, err := crypto.MarshalPublicKey(pk); err == nil {
				out.PublicKey = base64.StdEncoding.EncodeToString(b)
			}
		}
	}
	writeJSON(w, out)
}

// version is pincluster's version in Kubo's shape.
func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, struct{ Version, Commit, Repo, System, Golang string }{
		Version: s.d.Version, Repo: "pincluster", System: runtime.GOARCH + "/" + runtime.GOOS, Golang: runtime.Version(),
	})
}

// oneCid is the single argument of block/get and dag/export, resolved.
func (s *Server) oneCid(r *http.Request, q query, name string) (api.Cid, error) {
	argv := q["arg"]
	if len(argv) != 1 {
		if len(argv) == 0 {
			return api.CidUndef, badArg("argument %q is required", name)
		}
		return api.CidUndef, badArg("expected 1 argument %q, got %d", name, len(argv))
	}
	cids, err := s.cidsOf(r, argv, name)
	if err != nil {
		return api.CidUndef, err
	}
	return cids[0], nil
}

// cat writes the UnixFS files of the arguments one after the other, from offset, at most
// length bytes in all.
func (s *Server) cat(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	offset, err := q.int("offset", "o")
	if err != nil {
		writeError(w, err)
		return
	}
	length, err := q.int("length", "l")
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := q.bool(false, "progress", "p"); err != nil {
		writeError(w, err)
		return
	}
	offset = max(offset, 0)
	cids, err := s.cidsOf(r, q["arg"], "ipfs-path")
	if err != nil {
		writeError(w, err)
		return
	}
	// Open every file first: an error is then a status, not a trailer after some bytes.
	var readers []io.Reader
	var total int64
	for _, c := range cids {
		f, size, err := s.d.Node.OpenFile(r.Context(), c, offset)
		if err != nil {
			writeError(w, err)
			return
		}
		defer f.Close()
		n := max(size-offset, 0)
		offset = max(offset-size, 0)
		total += n
		readers = append(readers, f)
	}
	var body io.Reader = io.MultiReader(readers...)
	if length >= 0 && length < total {
		total = length
		body = io.LimitReader(body, length)
	}
	w.Header().Set("X-Content-Length", strconv.FormatInt(total, 10))
	st := newStream(w, "text/plain", "X-Stream-Output")
	st.start()
	_, err = io.Copy(st, body)
	if st.err != nil {
		return // the client went away
	}
	st.finish(err)
}

// blockGet writes one raw block.
func (s *Server) blockGet(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	c, err := s.oneCid(r, q, "cid")
	if err != nil {
		writeError(w, err)
		return
	}
	b, err := s.d.Node.GetBlock(r.Context(), c)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("X-Content-Length", strconv.Itoa(len(b)))
	st := newStream(w, "text/plain", "X-Stream-Output")
	st.Write(b)
	st.finish(nil)
}

// dagExport writes the DAG under the argument as a CARv1. The root is checked before the
// answer starts; a block missing further down ends the stream with the error in the trailer.
func (s *Server) dagExport(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := q.bool(false, "progress", "p"); err != nil {
		writeError(w, err)
		return
	}
	c, err := s.oneCid(r, q, "root")
	if err != nil {
		writeError(w, err)
		return
	}
	st := newStream(w, "text/plain", "X-Stream-Output")
	err = s.d.Node.ExportCAR(r.Context(), c, st)
	st.finish(err)
}
