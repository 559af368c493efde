package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/blockpush"
	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/messages"
)

// A cluster add (no --local): the receiving peer chunks the input once into a temporary spool
// (blockpush.Spool, not its IPFS node), asks the allocator for the allocations as a pin
// would, streams the spool to every allocation in parallel (one I/O worker per allocation,
// reporting to the add's goroutine by message), replaces an allocation whose push fails with
// another peer from the allocator, then commits the pin with exactly the allocations that hold
// the blocks and waits until each reports the pin done. Nothing is pinned before every push
// succeeded, so a failed add changes no pin; blocks already pushed to some peers stay there
// unpinned and IPFS GC removes them. The receiving peer's IPFS node gets the blocks only when
// it is itself allocated.
//
// Unlike IPFS Cluster's adder, which allocates at the first block and streams while it chunks,
// this add allocates once the root is known: the allocator ranks per CID and keeps the
// allocations of a pin of that root that exists already, exactly as the pin that follows
// will. The price is that chunking and streaming do not overlap (the spool is on disk, so
// memory stays bounded either way). --no-pin keeps the --local behaviour: blocks pushed to
// other peers and not pinned would only wait there for GC.

// pushResult is what one push worker reports: its progress after each acked batch
// (progress set), then, once, the push's end (err nil on success).
type pushResult struct {
	peer     peer.ID
	progress *blockpush.Progress
	err      error
}

// progressTo is a push worker's progress callback: it reports to the add's goroutine by
// message (the add writes the client's progress lines; a worker never calls out to it).
func progressTo(ctx context.Context, results chan<- pushResult) func(blockpush.Progress) {
	return func(pr blockpush.Progress) {
		select {
		case results <- pushResult{peer: pr.Peer, progress: &pr}:
		case <-ctx.Done():
		}
	}
}

// addToAllocations runs a cluster add (see above).
func (s *AddService) addToAllocations(ctx context.Context, mr *multipart.Reader, car io.Reader, params api.AddParams, opts api.PinOptions, out func(api.AddedOutput)) (api.Cid, error) {
	sp, root, err := s.spoolInput(ctx, mr, car, params, out)
	if err != nil {
		return api.CidUndef, err
	}
	defer sp.Close()
	opts.ApplyDefaults(s.d.Config.ReplicationFactorMin, s.d.Config.ReplicationFactorMax)
	allocs, err := s.allocateForAdd(ctx, root, opts)
	if err != nil {
		return root, err
	}
	start := time.Now()
	allocs, err = s.pushAll(ctx, sp, root, opts, allocs, s.pushReporter(root.String(), sp.Bytes(), 10, params.Progress, out))
	if err != nil {
		return root, err
	}
	s.d.Log.Info("add: blocks pushed", "cid", root, "blocks", sp.Len(), "bytes", sp.Bytes(), "allocations", allocs, "took", time.Since(start))
	pin, err := s.commitPin(ctx, root, opts, allocs)
	if err != nil {
		return root, err
	}
	if err := s.waitPinnedOn(ctx, root, pin.Allocations, allocs); err != nil {
		return root, &api.AfterPinError{Err: err}
	}
	return root, nil
}

// commitPin pins root on exactly the peers that hold its blocks, as IPFS Cluster's adder pins
// with the allocations its block streamer chose: the allocations are the pin's, not user
// allocations, so the user's options are stored as given. The options were validated by Add;
// the expiry and the queues are checked again (a long push may have outlasted the one and
// filled the others). A pin update goes through PinService.Pin (it merges the options of the
// pin it updates), the allocations as user allocations.
func (s *AddService) commitPin(ctx context.Context, root api.Cid, opts api.PinOptions, allocs []peer.ID) (api.Pin, error) {
	if opts.PinUpdate.Defined() {
		if opts.ReplicationFactorMin != -1 {
			opts.UserAllocations = allocs
		}
		return s.pins.Pin(ctx, root, opts)
	}
	if err := opts.ValidateExpiry(time.Now()); err != nil { // an add that outlasted its --expire-in
		return api.Pin{}, err
	}
	for _, g := range s.d.Gates {
		if err := g.Full(); err != nil {
			return api.Pin{}, err
		}
	}
	// Content added again keeps the Pinning Service API requests of its pin (api.KeepRequests),
	// which count towards the metadata's bounds; a sharded add's pins are never re-pinned whole.
	existing, found, err := s.d.Store.GetPin(root)
	if err != nil {
		return api.Pin{}, err
	}
	if found && existing.TypeOrData() != api.PinTypeData {
		return api.Pin{}, api.RefuseRepinSharded(existing)
	}
	opts.Metadata = api.KeepRequests(existing.Metadata, opts.Metadata)
	if err := opts.ValidateLimits(); err != nil {
		return api.Pin{}, err
	}
	pin := api.NewPin(root, opts)
	if opts.ReplicationFactorMin != -1 {
		pin.Allocations = allocs
	}
	pin.Timestamp = time.Now().UTC()
	if _, err := s.d.Pinset.Commit(ctx, messages.Change{Kind: crdt.OpPin, Pin: pin}); err != nil {
		return api.Pin{}, err
	}
	return pin, nil
}

// spoolInput refuses when a gate is full (before any work: Pin would refuse at the end), then
// chunks the input once into a new spool. The caller closes the spool.
func (s *AddService) spoolInput(ctx context.Context, mr *multipart.Reader, car io.Reader, params api.AddParams, out func(api.AddedOutput)) (*blockpush.Spool, api.Cid, error) {
	for _, g := range s.d.Gates {
		if err := g.Full(); err != nil {
			return nil, api.CidUndef, err
		}
	}
	sp, err := s.d.Blocks.NewSpool()
	if err != nil {
		return nil, api.CidUndef, err
	}
	root, err := s.chunk(ctx, sp, mr, car, params, out)
	if err != nil {
		sp.Close()
		return nil, api.CidUndef, err
	}
	return sp, root, nil
}

func (s *AddService) chunk(ctx context.Context, sp *blockpush.Spool, mr *multipart.Reader, car io.Reader, params api.AddParams, out func(api.AddedOutput)) (api.Cid, error) {
	if params.Format == "car" {
		if car == nil {
			return api.CidUndef, fmt.Errorf("%w: format=car needs the CAR as the request body", api.ErrInvalid)
		}
		root, err := sp.ImportCAR(ctx, car)
		if err != nil {
			return api.CidUndef, err
		}
		out(api.AddedOutput{Name: root.String(), Cid: root})
		return root, nil
	}
	d, err := filesOf(mr)
	if err != nil {
		return api.CidUndef, err
	}
	return sp.ImportFiles(ctx, d, params, func(o api.AddedOutput) { out(o) })
}

// allocateForAdd chooses the peers to push to: the allocator's answer as for a pin (keeping
// the allocations of a pin of root that exists already), or every member for replication -1.
func (s *AddService) allocateForAdd(ctx context.Context, root api.Cid, opts api.PinOptions) ([]peer.ID, error) {
	if opts.ReplicationFactorMin == -1 {
		return s.d.Members.Members(ctx), nil
	}
	var current []peer.ID
	if existing, found, err := s.d.Store.GetPin(root); err != nil {
		return nil, err
	} else if found {
		current = existing.Allocations
	}
	return s.d.Allocator.Allocate(ctx, root, opts, current)
}

// pushAll pushes sp to every peer of allocs in parallel and returns the peers that hold it:
// allocs, with each failed peer replaced by another the allocator picks. A failed peer with no
// replacement is dropped while the others still make the minimum (replication -1: one peer);
// otherwise the add fails naming it (every push in flight is cancelled).
func (s *AddService) pushAll(ctx context.Context, sp *blockpush.Spool, root api.Cid, opts api.PinOptions, allocs []peer.ID, report func(blockpush.Progress)) ([]peer.ID, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan pushResult)
	running := 0
	start := func(p peer.ID) {
		running++
		go func() {
			err := s.d.Blocks.Push(ctx, p, sp, root.Cid, progressTo(ctx, results))
			select {
			case results <- pushResult{peer: p, err: err}:
			case <-ctx.Done(): // the add returned
			}
		}()
	}
	for _, p := range allocs {
		start(p)
	}
	holding := slices.Clone(allocs) // allocations whose push succeeded or runs
	failed := map[peer.ID]error{}
	for running > 0 {
		var r pushResult
		select {
		case r = <-results:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if r.progress != nil {
			report(*r.progress)
			continue
		}
		running--
		if r.err == nil {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		failed[r.peer] = r.err
		holding = slices.DeleteFunc(holding, func(p peer.ID) bool { return p == r.peer })
		s.d.Log.Warn("add: push to an allocation failed; replacing it", "cid", root, "peer", r.peer, "err", r.err)
		next, err := s.replacement(ctx, root, opts, holding, failed)
		if err != nil && enough(opts, holding) {
			s.d.Log.Warn("add: no replacement for a failed allocation; going on with fewer", "cid", root, "peer", r.peer, "allocations", holding, "why", err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("add: %w; no other peer can take the place of %s (%v), so nothing was pinned", r.err, s.d.Members.PeerName(r.peer), err)
		}
		holding = append(holding, next)
		start(next)
	}
	return holding, nil
}

// enough reports whether the peers holding the blocks (or still receiving them) satisfy opts
// without a replacement: at least the minimum, or, for replication -1 (every peer: a peer that
// missed the push pins from the others over bitswap when it can), at least one.
func enough(opts api.PinOptions, holding []peer.ID) bool {
	if opts.ReplicationFactorMin == -1 {
		return len(holding) > 0
	}
	return len(holding) >= opts.ReplicationFactorMin
}

// replacement asks the allocator for one more peer besides holding, none of failed: the
// allocator cannot exclude peers, so it is asked for enough more to skip them.
func (s *AddService) replacement(ctx context.Context, root api.Cid, opts api.PinOptions, holding []peer.ID, failed map[peer.ID]error) (peer.ID, error) {
	if opts.ReplicationFactorMin == -1 {
		return "", errors.New("replication factor -1 pushes to every member")
	}
	o := opts
	o.UserAllocations = holding
	o.ReplicationFactorMin = len(holding) + 1
	o.ReplicationFactorMax = len(holding) + 1 + len(failed)
	peers, err := s.d.Allocator.Allocate(ctx, root, o, nil)
	if err != nil {
		return "", err
	}
	for _, p := range peers {
		if _, bad := failed[p]; !bad && !slices.Contains(holding, p) {
			return p, nil
		}
	}
	return "", errors.New("the allocator has no other candidate")
}

// pushReporter logs each allocation's push of name (size bytes) about every 1/steps and, when
// the client asked for progress, sends it a progress line per step: IPFS Cluster's
// AddedOutput with no CID, the bytes the peer acked, the total size and the peer as the one
// allocation. Called from the add's goroutine only.
func (s *AddService) pushReporter(name string, size uint64, steps int, lines bool, out func(api.AddedOutput)) func(blockpush.Progress) {
	last := map[peer.ID]int{}
	return func(p blockpush.Progress) {
		if p.Total == 0 {
			return
		}
		step := p.Blocks * steps / p.Total
		if prev, seen := last[p.Peer]; seen && step == prev || step == 0 && steps == 1 {
			return
		}
		last[p.Peer] = step
		s.d.Log.Info("add: push progress", "what", name, "peer", p.Peer, "blocks", p.Blocks, "of", p.Total, "bytes", p.Bytes)
		if lines {
			out(api.AddedOutput{Name: name, Bytes: p.Bytes, Size: size, Allocations: []peer.ID{p.Peer}})
		}
	}
}

// addGiveUpAttempts is how many failed pin attempts of a pushed root on each peer still
// missing make add stop waiting (a first failure may be transient: the retry comes within
// retry_backoff_min).
const addGiveUpAttempts = 2

// waitPinnedOn waits until every pushed peer that the pin allocates (every pushed peer for an
// allocation-less pin) reports root pinned. An allocation the add did not push to (the
// allocator filled a place a failed peer left, up to the maximum) fetches over bitswap from
// the others and is not waited for.
func (s *AddService) waitPinnedOn(ctx context.Context, root api.Cid, allocs, pushed []peer.ID) error {
	want := pushed
	if len(allocs) > 0 {
		want = slices.DeleteFunc(slices.Clone(pushed), func(p peer.ID) bool { return !slices.Contains(allocs, p) })
	}
	ctx, cancel := context.WithTimeout(ctx, addReplicationWait)
	defer cancel()
	t := time.NewTicker(addPollEvery)
	defer t.Stop()
	missing := want // as last read: a status asked as the wait ends fails with it
	for {
		if g, err := s.status.Status(ctx, root, false); err == nil {
			missing = nil
			var failed []string
			for _, p := range want {
				st := g.PeerMap[p.String()]
				if st.Status == api.TrackerStatusPinned {
					continue
				}
				missing = append(missing, p)
				if st.Status == api.TrackerStatusPinError && st.AttemptCount >= addGiveUpAttempts {
					failed = append(failed, fmt.Sprintf("%s (%s)", p, st.Error))
				}
			}
			if len(missing) == 0 {
				return nil
			}
			// The blocks are on those nodes: a pin failing there again is the node's failure,
			// not a fetch taking long, and waiting the whole bound for it helps nobody.
			if len(failed) == len(missing) {
				return fmt.Errorf("%w: added %s and pushed its blocks, but pinning failed on %s (the pin stays in the cluster and is retried there: `pincluster status %s` follows it)",
					api.ErrUnavailable, root, strings.Join(failed, ", "), root)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: added %s and pushed its blocks, but peers %v did not report the pin done in time (it stays pinned in the cluster and will be retried)", api.ErrTimeout, root, missing)
		case <-t.C:
		}
	}
}
