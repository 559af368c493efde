package peer

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Close stops everything in reverse order of start. Acknowledged pins are already durable, so
// Close loses nothing even when interrupted. Each step's error, and a step slower than
// slowCloseStep, is logged with the step's name: the actors' Stop discard their stop future's
// timeout, and a shutdown that overruns must say where.
func (p *Peer) Close() error {
	var errs []error
	step := func(name string, f func() error) {
		if err := p.closeStep(name, f); err != nil {
			errs = append(errs, err)
		}
	}
	stop := func(name string, f func()) { step(name, func() error { f(); return nil }) }
	p.closed.Do(func() {
		if p.metrics != nil {
			step("metrics server", func() error { return within5s(p.metrics.Shutdown) })
		}
		if p.pinsvc != nil {
			step("pinning service API", func() error { return within5s(p.pinsvc.Shutdown) })
		}
		if p.proxy != nil {
			step("IPFS proxy", func() error { return within5s(p.proxy.Shutdown) })
		}
		if p.rest != nil {
			step("REST API", func() error { return within5s(p.rest.Shutdown) })
		}
		if p.membership != nil {
			stop("membership", p.membership.Stop) // saves the peerstore file
		}
		if p.healer != nil {
			stop("healer", p.healer.Stop) // no repin or sync commits while the pinset stops
		}
		if p.antientropy != nil {
			stop("anti-entropy", p.antientropy.Stop) // no pulls while the syncer stops
		}
		if p.tokens != nil {
			stop("tokens", p.tokens.Stop) // its pull, before the remote layer closes
		}
		if p.digests != nil {
			stop("status digests", p.digests.Stop) // its workers, before the store closes
		}
		if p.informer != nil {
			stop("informer", p.informer.Stop)
		}
		if p.batcher != nil {
			// The ops taken last go out before the topics close: the others hold them now,
			// not after this peer's next start (a peer stopped for good never sends them).
			stop("broadcast of the last ops", p.flushBroadcast)
		}
		if p.cancel != nil {
			p.cancel()
		}
		if p.roster != nil {
			stop("roster", p.roster.Close) // its drop workers
		}
		if p.gossip != nil {
			stop("gossip", p.gossip.Stop) // its topic readers
		}
		if p.topics != nil {
			stop("topics", p.topics.Close)
		}
		stop("RPC workers", p.rpcWorkers.Wait)
		if p.collector != nil {
			stop("collector", p.collector.Stop)
		}
		if p.syncer != nil {
			stop("syncer", p.syncer.Stop)
		}
		if p.pinset != nil {
			stop("pinset", p.pinset.Stop)
		}
		if p.batcher != nil {
			stop("batcher", p.batcher.Stop)
		}
		if p.tracker != nil {
			stop("tracker", p.tracker.Stop)
		}
		if p.monitor != nil {
			stop("monitor", p.monitor.Stop)
		}
		if p.root != nil {
			stop("root actor", p.root.Stop) // what is left of the tree (allocator, rpc)
		}
		if p.blockServer != nil {
			stop("block server", p.blockServer.Close)
		}
		if p.remote != nil {
			step("remote", p.remote.Close)
		}
		if p.system != nil {
			stop("actor system", p.system.Shutdown)
		}
		if p.ipfs != nil {
			step("IPFS backend", p.ipfs.Close)
		}
		if p.store != nil {
			step("pinset store", p.store.Close)
		}
		if p.host != nil {
			step("libp2p host", p.host.Close)
		}
	})
	return errors.Join(errs...)
}

// slowCloseStep: a Close step that takes longer is logged (an actor's stop future times out
// after 10 s, a server's shutdown after 5 s; Badger's close may flush its memtables for a
// second or two).
const slowCloseStep = 3 * time.Second

// closeStep runs one step of Close, logs its failure or slowness, and names it in the error.
func (p *Peer) closeStep(name string, f func() error) error {
	start := time.Now()
	err := f()
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case err != nil:
		p.log.Warn("peer close: step failed", "step", name, "took", took, "err", err)
		return fmt.Errorf("closing the %s: %w", name, err)
	case took >= slowCloseStep:
		p.log.Warn("peer close: step was slow", "step", name, "took", took)
	}
	return nil
}

// closeFlushBound bounds the wait for the last ops' broadcast at shutdown; what is left is
// republished at the next start (actors/batcher republish.go).
const closeFlushBound = 3 * time.Second

func (p *Peer) flushBroadcast() {
	ctx, cancel := context.WithTimeout(context.Background(), closeFlushBound)
	defer cancel()
	if err := p.batcher.WaitPublished(ctx, closeFlushBound); err != nil {
		p.log.Warn("shutting down: ops not broadcast yet are sent at the next start", "err", err)
	}
}
