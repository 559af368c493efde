package rest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
)

// routes registers every endpoint (IPFS Cluster's paths); each needs the permission that
// routePermissions (auth.go) gives it.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	s.handle(mux, "GET /health", s.health)
	s.handle(mux, "GET /id", s.id)
	s.handle(mux, "GET /version", s.version)
	s.handle(mux, "GET /peers", s.peers)
	s.handle(mux, "DELETE /peers/{peerid}", s.peerRemove)

	s.handle(mux, "POST /add", s.guardedBody("add", s.cfg.MaxAddBytes, s.add))

	s.handle(mux, "GET /allocations", s.allocations)
	s.handle(mux, "GET /allocations/{cid}", s.allocation)

	s.handle(mux, "GET /pins", s.statusAll)
	s.handle(mux, "GET /pins/counts", s.pinCounts)
	s.handle(mux, "GET /pins/{cid}", s.status)
	s.handle(mux, "POST /pins/recover", s.recoverAll)
	s.handle(mux, "POST "+batchPath, s.guardedBody("ingest pins", s.cfg.MaxAddBytes, s.pinsBatch))
	// Without these, GET and DELETE /pins/batch would match /pins/{cid} ("batch" is not a CID).
	for _, m := range []string{"GET", "DELETE"} {
		mux.HandleFunc(m+" "+batchPath, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", http.MethodPost)
			writeErrorStatus(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: POST)", r.Method, batchPath))
		})
	}
	s.handle(mux, "POST /pins/{cid}", s.pin)
	s.handle(mux, "DELETE /pins/{cid}", s.unpin)
	// /pins/{cid}/recover and /pins/ipfs/{path...} overlap, so one pattern takes both.
	s.handle(mux, "POST /pins/{first}/{rest...}", s.pinsSub)
	s.handle(mux, "DELETE /pins/{first}/{rest...}", s.unpinPath)

	s.handle(mux, "POST /ipfs/gc", s.ipfsGC)

	s.handle(mux, "GET /monitor/metrics", s.metricNames)
	s.handle(mux, "GET /monitor/metrics/{name}", s.metrics)
	s.handle(mux, "GET /health/alerts", s.alerts)
	s.handle(mux, "GET /health/graph", s.graph)

	s.handle(mux, "POST /token", s.issueToken)
	s.handle(mux, "GET /token/whoami", s.whoami)
	s.handle(mux, "GET /token", s.listTokens)
	s.handle(mux, "DELETE /token/{id}", s.revokeToken)

	// The status page (status_page.go, api/rest/ui).
	s.handle(mux, "GET /ui/", s.ui)
	return mux
}

// queryBool reads an optional boolean query parameter.
func queryBool(q url.Values, key string) (bool, error) {
	v := q.Get(key)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s=%q is not a boolean (use true or false)", api.ErrInvalid, key, v)
	}
	return b, nil
}

// pathCid decodes the {cid} path value.
func pathCid(r *http.Request, name string) (api.Cid, error) {
	return api.DecodeCid(r.PathValue(name))
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) id(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.svc.Peers.ID(r.Context()))
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.svc.Peers.Version())
}

func (s *Server) peers(w http.ResponseWriter, r *http.Request) {
	st := newStreamer(w)
	st.finish(s.svc.Peers.Peers(r.Context(), func(id api.ID) error { return st.item(id) }))
}

func (s *Server) peerRemove(w http.ResponseWriter, r *http.Request) {
	v := r.PathValue("peerid")
	id, err := peer.Decode(v)
	if err != nil {
		writeError(w, fmt.Errorf("%w: %q is not a peer ID: %v", api.ErrInvalid, v, err))
		return
	}
	if err := s.svc.Peers.PeerRemove(r.Context(), id); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) ipfsGC(w http.ResponseWriter, r *http.Request) {
	local, err := queryBool(r.URL.Query(), "local")
	if err != nil {
		writeError(w, err)
		return
	}
	gc, err := s.svc.Health.IPFSGC(r.Context(), local)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, gc)
}

func (s *Server) metricNames(w http.ResponseWriter, r *http.Request) {
	names, err := s.svc.Health.MetricNames(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	writeJSON(w, http.StatusOK, names)
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	ms, err := s.svc.Health.Metrics(r.Context(), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	if ms == nil {
		ms = []api.Metric{}
	}
	writeJSON(w, http.StatusOK, ms)
}

func (s *Server) alerts(w http.ResponseWriter, r *http.Request) {
	as, err := s.svc.Health.Alerts(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	if as == nil {
		as = []api.Alert{}
	}
	writeJSON(w, http.StatusOK, as)
}

func (s *Server) graph(w http.ResponseWriter, r *http.Request) {
	g, err := s.svc.Peers.ConnectGraph(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, g)
}
