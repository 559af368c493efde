package pinsvc

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/rest"
)

// The service's dependencies, one small interface per concern (the peer hands over its
// services and store, tests fakes). Errors wrap the api sentinel errors.

// Pins is the cluster's pinset.
type Pins interface {
	// PinRequests adds or updates c (replication factors 0: the cluster defaults) with the
	// metadata given, its requests as they are, and returns the pin once durable.
	PinRequests(ctx context.Context, c api.Cid, opts api.PinOptions) (api.Pin, error)
	// Unpin removes c; api.ErrNotFound when it is not pinned.
	Unpin(ctx context.Context, c api.Cid) (api.Pin, error)
	// PinGet returns one pin; api.ErrNotFound when absent.
	PinGet(ctx context.Context, c api.Cid) (api.Pin, error)
}

// Status is where pins stand on the peers.
type Status interface {
	// Status returns the status of c on every allocated peer.
	Status(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error)
	// StatusAll streams the status of each of cids matching filter (0: all), asking the peers
	// once for the whole list.
	StatusAll(ctx context.Context, filter api.TrackerStatus, local bool, cids []api.Cid, fn func(api.GlobalPinInfo) error) error
}

// Membership lists the cluster's peers with their IPFS node's ID and addresses (api.ID.IPFS),
// where delegates come from when the status does not carry them.
type Membership interface {
	// Peers streams the ID of every cluster peer (this one included).
	Peers(ctx context.Context, fn func(api.ID) error) error
}

// RequestRef is a request found in the index (persistence.Store implements Index).
type RequestRef = api.PinRequestRef

// Index is the store's index of requests (persistence: xr/ and xq/).
type Index interface {
	// Requests calls fn with the requests created strictly before `before` (all when zero),
	// newest first, until fn returns an error, which it returns.
	Requests(ctx context.Context, before time.Time, fn func(RequestRef) error) error
	// Request returns the pins holding request id (none: unknown id).
	Request(ctx context.Context, id string) ([]RequestRef, error)
}

// Auth checks credentials: the REST API's users and bearer tokens (rest.Server.CheckAuth).
// status 0 allows the request; 401 and 403 refuse it with msg.
type Auth interface {
	CheckAuth(r *http.Request, perm rest.Permission) (status int, msg string)
}

// Deps are what the service needs; Auth nil means no authentication (tests, or a REST API
// without credentials, which answers the same).
type Deps struct {
	Pins   Pins
	Status Status
	Index  Index
	Auth   Auth
	// Peers is optional: without it, delegates are the addresses the status carries.
	Peers Membership
}

func (d Deps) check() error {
	if d.Pins == nil || d.Status == nil || d.Index == nil {
		return errors.New("pinsvc: incomplete Deps (Pins, Status and Index are required)")
	}
	return nil
}
