package pinsvc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pincluster/pincluster/api"
)

// Listing: GET /pins, its filters, paging and the statuses of the requests it returns.

// listPins: GET /pins.
func (s *Server) listPins(w http.ResponseWriter, r *http.Request, _ string) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		writeError(w, err)
		return
	}
	res, err := s.list(r.Context(), q)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// list walks the request index newest first from q.Before, counts every match and keeps the
// first q.Limit. Matches are buffered in batches whose statuses are asked in one cluster-wide
// call (StatusAll with their CIDs); when the status filter lets every status through, only the
// requests returned need one.
func (s *Server) list(ctx context.Context, q Query) (PinResults, error) {
	res := PinResults{Results: []PinStatus{}}
	cache := map[string]reqStatus{}
	type match struct {
		ref RequestRef
		e   entry
	}
	var buf []match
	flush := func() {
		var need []api.Cid
		for i, m := range buf {
			if q.anyStatus() && len(res.Results)+i >= q.Limit {
				break // counted whatever their status, not returned: no status needed
			}
			if _, ok := cache[string(m.ref.Cid.Bytes())]; !ok && !containsCid(need, m.ref.Cid) {
				need = append(need, m.ref.Cid)
			}
		}
		if len(cache)+len(need) > maxStatusCache {
			clear(cache)
		}
		s.statuses(ctx, need, cache)
		for _, m := range buf {
			keep := len(res.Results) < q.Limit
			var v reqStatus
			if keep || !q.anyStatus() {
				v = cache[string(m.ref.Cid.Bytes())]
				if !slices.Contains(q.Status, v.status) {
					continue
				}
			}
			res.Count++
			if keep {
				res.Results = append(res.Results, PinStatus{RequestID: m.ref.ID, Status: v.status, Created: m.e.Created,
					Pin: pinOf(m.ref.Cid, m.e), Delegates: v.delegates, Info: v.info})
			}
		}
		buf = buf[:0]
	}
	visit := func(ref RequestRef) error {
		if !q.After.IsZero() && !ref.Created.After(q.After) {
			return errStop // newest first: the rest is older still
		}
		f, err := api.PinFieldsOf(ref.PinJSON)
		if err != nil {
			return nil
		}
		e, ok := entryOf(f.Metadata, ref.ID)
		if !ok || !q.matches(ref.Cid, e) {
			return nil
		}
		if buf = append(buf, match{ref, e}); len(buf) == statusBatch {
			flush()
		}
		return nil
	}
	var err error
	if len(q.Cids) > 0 {
		err = s.requestsOf(ctx, q.Cids, q.Before, visit) // up to 10 pins: read them, not the index
	} else {
		err = s.d.Index.Requests(ctx, q.Before, visit)
	}
	if err != nil && !errors.Is(err, errStop) {
		return PinResults{}, err
	}
	flush()
	return res, ctx.Err()
}

const (
	// statusBatch is how many matching requests share one cluster-wide status call.
	statusBatch = 256
	// maxStatusCache bounds the statuses a listing keeps (by CID) for the requests to come.
	maxStatusCache = 4096
)

// reqStatus is a request's status, delegates and info.
type reqStatus struct {
	status    string
	delegates []string
	info      map[string]string
}

// statuses asks the cluster-wide status of cids in one call and adds them to into; a CID the
// answer lacks, or every CID when the call fails, is queued with the reason in info.
func (s *Server) statuses(ctx context.Context, cids []api.Cid, into map[string]reqStatus) {
	if len(cids) == 0 {
		return
	}
	var addrs map[string][]string
	err := s.d.Status.StatusAll(ctx, 0, false, cids, func(g api.GlobalPinInfo) error {
		if addrs == nil && needsAddrs(g) {
			addrs = s.peerAddrs(ctx)
		}
		var v reqStatus
		v.status, v.delegates, v.info = clusterStatus(g, func(k string) []string { return addrs[k] })
		into[string(g.Cid.Bytes())] = v
		return nil
	})
	for _, c := range cids {
		if _, ok := into[string(c.Bytes())]; ok {
			continue
		}
		why := "no status yet"
		if err != nil {
			why = "cluster status unavailable: " + err.Error()
		}
		into[string(c.Bytes())] = reqStatus{status: StatusQueued, delegates: []string{}, info: map[string]string{"status_details": why}}
	}
}

// needsAddrs reports whether some peer of g has no IPFS addresses in its status.
func needsAddrs(g api.GlobalPinInfo) bool {
	for _, pi := range g.PeerMap {
		if len(pi.IPFSAddresses) == 0 {
			return true
		}
	}
	return false
}

// requestsOf calls fn with the requests the pins of cids hold, created before `before` (any
// when zero), in the index's order: newest first, then by id.
func (s *Server) requestsOf(ctx context.Context, cids []api.Cid, before time.Time, fn func(RequestRef) error) error {
	var refs []RequestRef
	for _, c := range cids {
		pin, err := s.d.Pins.PinGet(ctx, c)
		if errors.Is(err, api.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		js, err := json.Marshal(api.PinFields{Name: pin.Name, Metadata: pin.Metadata})
		if err != nil {
			return err
		}
		for k := range pin.Metadata {
			id, isReq := strings.CutPrefix(k, requestKeyPrefix)
			if !isReq || !validRequestID(id) {
				continue
			}
			e, ok := entryOf(pin.Metadata, id)
			if !ok || (!before.IsZero() && !e.Created.Before(before)) {
				continue
			}
			refs = append(refs, RequestRef{Created: e.Created, ID: id, Cid: c, PinJSON: js})
		}
	}
	slices.SortFunc(refs, func(a, b RequestRef) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	for _, r := range refs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}
