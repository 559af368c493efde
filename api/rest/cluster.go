package rest

import (
	"context"
	"errors"
	"io"
	"mime/multipart"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
)

// The REST server's dependencies, one small interface per concern; the peer hands over its
// services (cluster/), tests hand over fakes. Every method is safe for concurrent use. Errors
// wrap the api sentinel errors (ErrInvalid, ErrNotFound, ErrUnavailable, ...), which the server
// maps to HTTP codes with api.HTTPStatus. Streaming methods call fn once per item in a stable
// order and stop at fn's first error, returning it; they hold constant memory however large
// the pinset is.

// Pins is the pinset: pin, unpin, update, get and list.
type Pins interface {
	// Pin adds or updates c with opts (replication factors 0 mean the cluster defaults) and
	// returns the stored pin once it is durable. The path form resolves an /ipfs/ or /ipld/ path.
	Pin(ctx context.Context, c api.Cid, opts api.PinOptions) (api.Pin, error)
	PinPath(ctx context.Context, path string, opts api.PinOptions) (api.Pin, error)
	// Unpin removes c from the pinset; ErrNotFound when it is not pinned.
	Unpin(ctx context.Context, c api.Cid) (api.Pin, error)
	UnpinPath(ctx context.Context, path string) (api.Pin, error)
	// PinGet returns one pin of the pinset; ErrNotFound when absent.
	PinGet(ctx context.Context, c api.Cid) (api.Pin, error)
	// Count is the number of pins in the pinset, from a counter the store keeps (no scan).
	Count(ctx context.Context) (int, error)
	// PinsJSON streams the pinset as the stored JSON of each api.Pin (no trailing newline),
	// without decoding it: GET /allocations writes these bytes as they are. The slice is only
	// valid during the call.
	PinsJSON(ctx context.Context, fn func(pinJSON []byte) error) error
	// FindPinsJSON is PinsJSON restricted to the pins q selects (by name and metadata, from
	// the store's indexes where it can).
	FindPinsJSON(ctx context.Context, q api.PinQuery, fn func(pinJSON []byte) error) error
}

// PinStatus is where pins stand on the peers, and their recovery.
type PinStatus interface {
	// Status returns the status of c on every allocated peer (only this peer when local).
	Status(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error)
	// StatusAll streams the status of every pin whose status on some peer matches filter
	// (0 = all); cids, when not empty, restricts it to those CIDs.
	StatusAll(ctx context.Context, filter api.TrackerStatus, local bool, cids []api.Cid, fn func(api.GlobalPinInfo) error) error
	// StatusLocalJSON is StatusAll(ctx, filter, true, nil, ...) with each item as its JSON (no
	// trailing newline), built from the stored bytes: GET /pins?local=true writes these bytes as
	// they are. The slice is only valid during the call.
	StatusLocalJSON(ctx context.Context, filter api.TrackerStatus, fn func(line []byte) error) error
	// Recover re-queues c where it is in error and waits until that attempt ends.
	Recover(ctx context.Context, c api.Cid, local bool) (api.GlobalPinInfo, error)
	// RecoverAll recovers every errored pin, streaming the outcome of each.
	RecoverAll(ctx context.Context, local bool, fn func(api.GlobalPinInfo) error) error
}

// Membership is this peer and the cluster's members.
type Membership interface {
	ID(ctx context.Context) api.ID
	Version() api.Version
	// Peers streams the ID of every cluster peer (this one included).
	Peers(ctx context.Context, fn func(api.ID) error) error
	PeerRemove(ctx context.Context, id peer.ID) error
	ConnectGraph(ctx context.Context) (api.ConnectGraph, error)
}

// Health is the metrics and alerts of the cluster, and IPFS maintenance.
type Health interface {
	// Metrics returns the latest valid metric of each peer for name; MetricNames the names.
	Metrics(ctx context.Context, name string) ([]api.Metric, error)
	MetricNames(ctx context.Context) ([]string, error)
	Alerts(ctx context.Context) ([]api.Alert, error)
	// IPFSGC runs a repo gc (on every peer unless local).
	IPFSGC(ctx context.Context, local bool) (api.GlobalRepoGC, error)
}

// Adder imports content and pins it.
type Adder interface {
	// Add imports the files of a multipart body (or, with params.Format "car", a CAR stream in
	// car) and pins the root unless NoPin, reporting each entry and progress to out. It returns
	// the root. Exactly one of mr and car is non-nil.
	Add(ctx context.Context, mr *multipart.Reader, car io.Reader, params api.AddParams, out func(api.AddedOutput)) (api.Cid, error)
}

// Services are what the server serves, one field per concern; every field but Ingest is
// required (without Ingest, POST /pins/batch answers 503).
type Services struct {
	Pins   Pins
	Status PinStatus
	Peers  Membership
	Health Health
	Add    Adder
	Ingest Ingester // batch.go
	// Tokens records issued tokens cluster-wide (token_registry.go); without it tokens have
	// ids but cannot be listed or revoked (GET /token, DELETE /token/{id} answer 503).
	Tokens TokenRegistry
	// Guard, when set, refuses add and batch ingest before their bodies stream
	// (writeguard.go); the services check the same rule for every write.
	Guard WriteGuard
}

func (s Services) check() error {
	if s.Pins == nil || s.Status == nil || s.Peers == nil || s.Health == nil || s.Add == nil {
		return errors.New("restapi: incomplete Services")
	}
	return nil
}
