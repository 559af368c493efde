package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/faults"
)

// cluster is the set of peers and the faults in force on each. Fault files are rewritten
// (and the daemon signalled) under mu, so a file and the signal that announces it never
// interleave with another change.
type cluster struct {
	bin   string
	dir   string
	nodes []*node

	mu          sync.Mutex
	faults      []faults.Config // per node, without block_peers (derived from partitioned)
	partitioned map[int]bool    // peers cut off from all others (both sides block)
}

func newCluster(ctx context.Context, bin, dir string, n int) (*cluster, error) {
	c := &cluster{bin: bin, dir: dir, faults: make([]faults.Config, n+1), partitioned: map[int]bool{}}
	secret := config.NewSecret()
	for i := 1; i <= n; i++ {
		nd := &node{i: i, dir: filepath.Join(dir, fmt.Sprintf("p%d", i))}
		if err := initNode(ctx, bin, nd, secret); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, nd)
	}
	return c, nil
}

// node returns peer i (1-based).
func (c *cluster) node(i int) *node { return c.nodes[i-1] }

func (c *cluster) ids() []int {
	out := make([]int, len(c.nodes))
	for k := range c.nodes {
		out[k] = k + 1
	}
	return out
}

// startAll starts peer 1, then the others with --bootstrap to peer 1.
func (c *cluster) startAll(ctx context.Context) error {
	for _, n := range c.nodes {
		boot := ""
		if n.i > 1 {
			boot = c.node(1).addr
		}
		if err := c.startNode(ctx, n.i, boot); err != nil {
			return err
		}
	}
	return nil
}

// startNode starts peer i and, once it is ready, has it reload its fault file (a change made
// while it was starting was not signalled).
func (c *cluster) startNode(ctx context.Context, i int, bootstrap string) error {
	n := c.node(i)
	if err := n.start(ctx, c.bin, bootstrap); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n.reloadFaults()
	return nil
}

// setFault changes peer i's own faults (skew, disk, IPFS) and signals it.
func (c *cluster) setFault(i int, change func(*faults.Config)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	change(&c.faults[i])
	return c.write(i)
}

// setPartitioned cuts peer i off from every other peer (on) or lets it back (off): every
// fault file changes, since both sides block.
func (c *cluster) setPartitioned(i int, on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on {
		c.partitioned[i] = true
	} else {
		delete(c.partitioned, i)
	}
	for _, n := range c.nodes {
		if err := c.write(n.i); err != nil {
			return err
		}
	}
	return nil
}

// healAll clears every fault file.
func (c *cluster) healAll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partitioned = map[int]bool{}
	for _, n := range c.nodes {
		c.faults[n.i] = faults.Config{}
		if err := c.write(n.i); err != nil {
			return err
		}
	}
	return nil
}

// write saves peer i's fault file and signals it. Called with mu held.
func (c *cluster) write(i int) error {
	cfg := c.faults[i]
	cfg.BlockPeers = nil
	for _, n := range c.nodes {
		if n.i != i && (c.partitioned[i] || c.partitioned[n.i]) {
			cfg.BlockPeers = append(cfg.BlockPeers, n.id)
		}
	}
	sort.Strings(cfg.BlockPeers)
	n := c.node(i)
	if err := faults.Save(n.faultsPath, cfg); err != nil {
		return fmt.Errorf("writing %s: %w", n.faultsPath, err)
	}
	n.reloadFaults()
	return nil
}

// upNodes lists the peers whose daemon is running (paused ones included).
func (c *cluster) upNodes() []*node {
	var out []*node
	for _, n := range c.nodes {
		if n.up() {
			out = append(out, n)
		}
	}
	return out
}

// stopAll stops every daemon (SIGTERM, then SIGKILL after timeout), in parallel.
func (c *cluster) stopAll(timeout time.Duration) {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.stop(timeout)
		}()
	}
	wg.Wait()
}
