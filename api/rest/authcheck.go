package rest

import (
	"fmt"
	"net/http"
)

// CheckAuth authenticates r with this API's basic auth users and bearer tokens and checks that
// the caller has perm, for another listener that shares them (the IPFS Pinning Service API,
// api/pinsvc). It answers as the REST API would: status 0 when allowed (always, when no
// credentials are configured), else 401 (missing, wrong or revoked credentials) or 403 (a
// permission missing), with a message for the caller.
func (s *Server) CheckAuth(r *http.Request, perm Permission) (status int, msg string) {
	if !s.authEnabled() || perm == permNone {
		return 0, ""
	}
	p, status, msg := s.authenticate(r)
	if status != 0 {
		return status, msg
	}
	if !p.perms.has(perm) {
		if p.token {
			return http.StatusForbidden, fmt.Sprintf("this token lacks the %q permission (it has: %s): request one with it using POST /token", perm, p.perms)
		}
		return http.StatusForbidden, fmt.Sprintf("user %q lacks the %q permission (it has: %s; see api.restapi.basic_auth_permissions)", p.user, perm, p.perms)
	}
	return 0, ""
}
