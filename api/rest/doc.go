// Package rest is pincluster's REST API server, compatible with IPFS Cluster's (same paths,
// query parameters and JSON shapes). It serves the small interfaces of cluster.go, one per
// concern (pins, status, peers, health, add), which the peer's services implement.
//
// Usage:
//
//	cfg := rest.DefaultConfig()
//	srv, err := rest.NewServer(cfg, rest.Services{Pins: pins, Status: status, Peers: peers, Health: health, Add: adder}, logger)
//	if err != nil { ... }
//	if err := srv.Start(); err != nil { ... } // binds cfg.ListenMultiaddress
//	defer srv.Shutdown(ctx)
//
// Every error is a JSON api.Error ({"code": N, "message": "..."}) with the status api.HTTPStatus
// gives. List endpoints stream one JSON object per line (NDJSON); an error after the first line
// is reported in the X-Stream-Error trailer.
//
// Authentication (auth.go, token.go) is on when basic_auth_credentials is set: requests carry
// basic auth or "Authorization: Bearer <token>" with a token from POST /token (an HS256 JWT
// signed with the user's password, with an expiry and permissions). Every route needs one
// permission (read, pin or admin) listed in routePermissions; GET /health needs none.
//
// Token ids and revocation (token_registry.go): every token carries a random id (jti) and the
// server records it through Services.Tokens (actors/tokens: cluster-wide, durable) before
// handing the token out. GET /token lists the records and DELETE /token/{id} revokes one (both
// admin; pincluster's own routes, beside IPFS Cluster's POST /token). Each bearer request costs
// one revocation lookup (a Badger read); a revoked token, or one without an id (issued before
// ids existed), is a 401, and a failed lookup a 503 (fail closed).
//
// The status page (status_page.go, its assets in package ui) is served at /ui/ without
// credentials; the page logs in and calls the API like any client, helped by GET /pins/counts
// (counts the daemon keeps, no scan) and GET /token/whoami (what the credentials allow).
//
// Request bodies (body.go) are read only after authentication and authorization, within
// read_timeout (each stall of it on POST /add), and an error answered before the body was read
// closes the connection instead of draining the body, as does any answer to a streamed body
// (add, batch ingest) that starts before the body's end was read. POST /add holds its "added"
// lines until the add ends (add_output.go), so bad input found halfway is still a 4xx, not a
// trailer.
package rest
