package ipfs

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/pincluster/pincluster/api"
)

// IDCache answers the IPFS node's peer ID for the statuses and heartbeats that carry it,
// asking the node at most once per Refresh (with the kubo backend each question is an HTTP
// call, and statuses are many), so that a node replaced under a running peer shows its new ID
// within Refresh. While the node does not answer, the last ID known stands. Safe for
// concurrent use; the zero value asks nobody until Node is set.
type IDCache struct {
	Node interface {
		ID(ctx context.Context) (api.IPFSID, error)
	}
	Refresh time.Duration    // 0: a minute
	Now     func() time.Time // nil: time.Now

	last atomic.Pointer[askedID]
}

type askedID struct {
	id string
	at time.Time
}

// Get is the node's peer ID ("" until it has answered once).
func (c *IDCache) Get(ctx context.Context) string {
	now, refresh := time.Now, c.Refresh
	if c.Now != nil {
		now = c.Now
	}
	if refresh <= 0 {
		refresh = time.Minute
	}
	last := c.last.Load()
	if last != nil && now().Sub(last.at) < refresh || c.Node == nil {
		if last == nil {
			return ""
		}
		return last.id
	}
	id, err := c.Node.ID(ctx)
	if err != nil || id.ID == "" {
		if last != nil {
			return last.id // asked again next time
		}
		return ""
	}
	c.last.Store(&askedID{id: id.ID, at: now()})
	return id.ID
}
