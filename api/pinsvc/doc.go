// Package pinsvc is the IPFS Pinning Service API
// (https://github.com/ipfs/pinning-services-api-spec) on its own listener,
// api.pinsvcapi.listen_multiaddress (default 127.0.0.1:9097, as IPFS Cluster): GET /pins,
// POST /pins, GET, POST (replace) and DELETE /pins/{requestid}. Kubo's `ipfs pin remote` is a
// client of it.
//
// # Requests
//
// A request is a pin request of its own, not its CID: its id is 128 random bits (32 hex
// digits), two requests for one CID are two requests, and the CID stays pinned while any
// request holds it. Requests are replicated with the pinset, so every peer's endpoint sees the
// same requests: a request is an entry of its CID's pin metadata, key "pinsvc/<requestid>",
// value a compact JSON {name, meta, origins, created (RFC 3339, UTC)}.
//   - POST /pins reads the CID's pin, if any, adds the entry and commits the pin through the
//     pinset (the cluster's default replication for a new pin; an existing pin keeps its
//     options, allocations and name, and gains the request's origins). A pin the service
//     creates is named after the request and marked with metadata "pinsvc" = "1".
//   - DELETE removes the entry; when no entry is left and the pin is the service's (marked),
//     the CID is unpinned. A pin that existed before its first request stays.
//   - A request changes nothing of its pin but the requests (and origins): a pin with an
//     expire_at keeps it, and goes with its requests when it expires. One whose expire_at has
//     passed, not yet unpinned by the healer's sync, still drops requests (Pins.PinRequests
//     checks an expiry only when it changes); a new request on it pins the CID anew: the
//     expiry is cleared and the pin becomes the service's (unpinned with its last request).
//   - POST /pins/{requestid} (replace) is a new request (new id, new created time) that
//     replaces the old: one commit when the CID is the same; for another CID the new request is
//     committed first, then the old removed, so that blocks both share are never unpinned.
//
// A pin's metadata is bounded (api.MaxMetadataBytes, 16 KiB, and 64 keys): a CID holds a few
// dozen small requests; one more than fits is a 409 (reason REQUEST_LIMIT) whose details say
// the pin's metadata is full, which bound the request would pass, and the keys and bytes its
// requests and its other metadata (set through the REST API) take (room.go); one request's
// name, meta and origins may take at most a quarter of the budget (else a 400). The service
// commits through Pins.PinRequests, which stores the metadata as given; every other writer of
// a stored pin (the REST API, the proxy, an add, a batch line) keeps its requests
// (api.KeepRequests), so a re-pin by hand never drops them. pin rm removes them with the pin.
//
// Race: this peer serializes its own read-modify-write of pins, but two peers adding (or
// removing) requests of the same CID in the same instant each commit the pin they read plus
// their change; the pinset keeps the last writer's pin, so one request can be lost although
// its POST was answered 202 (it is then a 404 on GET). Requests for different CIDs never
// interfere.
//
// # Listing
//
// The store indexes requests by created time (persistence: xr/<created><id><cid>, kept in the
// pin record's transaction) and by id (xq/). GET /pins walks the index newest first from
// `before` (exclusive), applies the filters (cid, name with match, after, meta, status), stops
// at the first request not after `after`, and returns the first `limit` matches. Created times
// are strictly increasing on each peer, and a `before` taken from the oldest result of a page
// starts the next page right after it, so paging never skips or repeats a request when requests
// arrive meanwhile (they are newer). Two peers creating requests in the same nanosecond would
// share a created time; paging could then skip one of them: unlikely and documented.
//
// With a cid filter (at most 10 CIDs) the walk reads those CIDs' pins instead of the index.
//
// `count`, which the spec requires, is the number of all matches: the walk goes on past
// `limit` to count them. That costs a read of every request the index holds between `before`
// and `after` (a key and the pin record each, in pages of 256), and, when the status filter
// does not let every status through (the default is pinned only), the cluster-wide status of
// every matching CID: one StatusAll call (a fan-out to the peers) per 256 matches, so a listing
// of N matching requests costs about N/256 cluster round trips. With every status allowed,
// statuses are only asked for the `limit` items returned. A listing keeps up to 4096 statuses
// (by CID) for the requests still to come.
//
// # Status
//
// From the CID's cluster-wide status: pinned when some peer has it pinned (errors on other
// peers are shown in info but do not hide that the data is held), else pinning when some peer
// is fetching it, else queued when some peer has it queued or unexpectedly_unpinned (just
// committed: not yet queued by its tracker) or no peer reports an error, else failed (pin or
// cluster errors only). delegates are the IPFS node multiaddrs (with /p2p/<IPFS peer ID>) of
// the peers holding or fetching it (of every peer in the status when none does yet), at most
// 20; info.status_details lists each peer's status and error. If the status cannot be read the
// request is answered queued with the error in info.
//
// # Authentication and errors
//
// The REST API's credentials: its basic auth users and bearer tokens (POST /token), checked by
// rest.Server.CheckAuth; listing and reading need the read permission, adding, replacing and
// removing the pin permission. Kubo sends the token it was given with `ipfs pin remote service
// add NAME URL TOKEN`. Without configured credentials (api.restapi.basic_auth_credentials
// empty) the API is open, as the REST API is. Errors are the spec's Failure
// {"error": {"reason", "details"}}: 400 BAD_REQUEST (malformed CID, unknown status, limit out
// of 1..1000, bad timestamps, bad meta JSON, a name over 255 bytes, more than 10 CIDs), 401
// UNAUTHORIZED (missing, wrong or revoked credentials), 403 FORBIDDEN (a permission missing),
// 404 NOT_FOUND (unknown request id), 408 REQUEST_TIMEOUT (a body that did not arrive within
// read_timeout), 409 REQUEST_LIMIT, 413, 503 SERVICE_UNAVAILABLE (full queues), 5xx
// INTERNAL_SERVER_ERROR.
//
// A body is read whole before the handler runs, as the REST API reads it (body.go): a request
// whose body does not arrive is a 408 and changes nothing, and an answer given before the body
// is read (401, 403, 404, 405, 413) closes the connection rather than wait for it.
package pinsvc
