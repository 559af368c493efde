package rest

import (
	"errors"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest/ui"
)

// The status page (api/rest/ui) is served at /ui/ without credentials: its assets are public,
// and the page's own calls carry the credentials the user logs in with. Two small endpoints
// serve it: GET /pins/counts (counts the daemon keeps, so the page stays fast with millions of
// pins) and GET /token/whoami (what the caller may do, so the page hides what it may not).

// isUIPath reports whether r asks for a status page asset (served without credentials).
func isUIPath(p string) bool {
	c := path.Clean(p)
	return c == "/ui" || strings.HasPrefix(c, "/ui/")
}

// PeerCounts are one peer's pin counts, from the metrics it publishes (numpin: pins on its
// IPFS node, healer.Healer.NodePins; pinqueue: pins queued or in progress). A count is -1 when the peer has no valid
// metric of that name.
type PeerCounts struct {
	Peer   string `json:"peer"`
	Pinned int64  `json:"pinned"`
	Queued int64  `json:"queued"`
}

// PinCounts is the body of GET /pins/counts.
type PinCounts struct {
	// Pinset is the number of pins in the cluster's pinset, from this peer's store counter.
	Pinset int `json:"pinset"`
	// Peers are the counts each peer publishes, sorted by peer ID.
	Peers []PeerCounts `json:"peers"`
}

// pinCounts is GET /pins/counts: no scan of the pinset, whatever its size.
func (s *Server) pinCounts(w http.ResponseWriter, r *http.Request) {
	n, err := s.svc.Pins.Count(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	byPeer := map[string]*PeerCounts{}
	var order []string
	for _, name := range []string{"numpin", "pinqueue"} {
		ms, err := s.svc.Health.Metrics(r.Context(), name)
		if errors.Is(err, api.ErrNotFound) {
			continue // no peer has a valid metric of that name now
		}
		if err != nil {
			writeError(w, err)
			return
		}
		for _, m := range ms {
			id := m.Peer.String()
			pc, ok := byPeer[id]
			if !ok {
				pc = &PeerCounts{Peer: id, Pinned: -1, Queued: -1}
				byPeer[id] = pc
				order = append(order, id)
			}
			v, err := strconv.ParseInt(strings.TrimSpace(m.Value), 10, 64)
			if err != nil || !m.Valid {
				continue
			}
			if name == "numpin" {
				pc.Pinned = v
			} else {
				pc.Queued = v
			}
		}
	}
	slices.Sort(order)
	out := PinCounts{Pinset: n, Peers: make([]PeerCounts, 0, len(order))}
	for _, id := range order {
		out.Peers = append(out.Peers, *byPeer[id])
	}
	writeJSON(w, http.StatusOK, out)
}

// WhoAmI is the body of GET /token/whoami.
type WhoAmI struct {
	// Auth is false when the API checks no credentials (then every permission is granted).
	Auth bool `json:"auth"`
	// User is the basic auth user, or the issuer of the bearer token.
	User  string `json:"user,omitempty"`
	Token bool   `json:"token"`
	// Permissions are "admin" or a subset of "read", "pin".
	Permissions []string `json:"permissions"`
	// Write is whether the caller may pin, unpin and recover.
	Write bool `json:"write"`
}

// whoami is GET /token/whoami: who the credentials are and what they allow.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	if !s.authEnabled() {
		writeJSON(w, http.StatusOK, WhoAmI{Permissions: allPerms.names(), Write: true})
		return
	}
	p, ok := principalFrom(r.Context())
	if !ok {
		writeErrorStatus(w, http.StatusUnauthorized, "this API needs credentials")
		return
	}
	writeJSON(w, http.StatusOK, WhoAmI{Auth: true, User: p.user, Token: p.token, Permissions: p.perms.names(), Write: p.perms.has(PermPin)})
}

// statusPage serves the page's embedded assets.
var statusPage = ui.Handler()

func (s *Server) ui(w http.ResponseWriter, r *http.Request) {
	statusPage.ServeHTTP(w, r)
}
