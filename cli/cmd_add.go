package cli

import (
	"fmt"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/api/client"
)

// AddCmd is `pincluster add <path>...`.
type AddCmd struct {
	Paths             []string `arg:"" name:"path" help:"Files, directories (with -r) or http(s):// URLs (fetched with a GET) to add. Several are wrapped in a directory."`
	Recursive         bool     `name:"recursive" short:"r" help:"Add directories recursively."`
	Quiet             bool     `name:"quiet" short:"q" help:"Print only the CIDs."`
	Quieter           bool     `name:"quieter" short:"Q" help:"Print only the root CID."`
	Local             bool     `name:"local" help:"Add to the IPFS node of the peer the client talks to only; the pin is still cluster-wide."`
	Replication       int      `name:"replication" placeholder:"N" help:"Replication factor: sets both --replication-min and --replication-max (-1 = every peer)."`
	NoPin             bool     `name:"no-pin" help:"Only add the content, do not pin it."`
	WrapWithDirectory bool     `name:"wrap-with-directory" short:"w" help:"Wrap the added files in a directory."`
	Format            string   `name:"format" default:"unixfs" help:"unixfs, or car to import a CAR file (one root)."`
	Layout            string   `name:"layout" default:"balanced" help:"DAG layout: balanced or trickle."`
	Chunker           string   `name:"chunker" default:"size-262144" help:"Chunker: size-N, rabin or rabin-MIN-AVG-MAX."`
	RawLeaves         *bool    `name:"raw-leaves" help:"Use raw blocks for leaf nodes (default: true with CID version 1, else false)."`
	CidVersion        int      `name:"cid-version" default:"0" help:"CID version: 0 or 1."`
	Hash              string   `name:"hash" default:"sha2-256" help:"Hash function: sha2-256, sha2-512, sha3-224|256|384|512, keccak-256|512, blake2b-256|384|512, blake2s-256, blake3 or sha1."`
	Hidden            bool     `name:"hidden" short:"H" help:"Include hidden files (dot files) of directories."`
	Shard             bool     `name:"shard" help:"Split the DAG into shards of at most --shard-size bytes, each pinned on its own peers (for content larger than any one peer)."`
	ShardSize         uint64   `name:"shard-size" default:"104857600" placeholder:"BYTES" help:"Largest shard with --shard, in bytes (at least one chunk)."`
	PinFlags
	WaitFlags
}

func (c *AddCmd) Run(g *Globals) error {
	opts, err := c.PinFlags.options(c.Replication, time.Now())
	if err != nil {
		return err
	}
	if opts.Name == "" && len(c.Paths) == 1 {
		if opts.Name, err = client.EntryName(c.Paths[0]); err != nil {
			return err
		}
	}
	params := api.AddParams{
		PinOptions: opts, Local: c.Local, Recursive: c.Recursive, Layout: c.Layout, Chunker: c.Chunker,
		Hidden: c.Hidden, CidVersion: c.CidVersion, HashFun: c.Hash, Format: c.Format, NoPin: c.NoPin,
		Shard: c.Shard, ShardSize: c.ShardSize,
		// As ipfs-cluster-ctl: several paths are wrapped, else all but the last would be lost.
		WrapWithDirectory: c.WrapWithDirectory || len(c.Paths) > 1,
	}
	if c.RawLeaves != nil { // unset, the peer applies Kubo's default (raw leaves with CIDv1)
		params.RawLeaves, params.RawLeavesSet = *c.RawLeaves, true
	}
	if err := params.Validate(); err != nil {
		return err
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	var bar *progress
	if g.io.TTY && !c.Quiet && !c.Quieter && !g.json() {
		bar = newProgress(g.io.Err, c.Paths, c.Recursive, c.Hidden)
		params.Progress = true
	}
	var root api.AddedOutput
	var printErr error
	ctx, cancel := g.ctx(true)
	defer cancel()
	err = cl.Add(ctx, c.Paths, params, func(o api.AddedOutput) {
		if !o.Cid.Defined() && len(o.Allocations) > 0 {
			bar.pushed(o)
			return
		}
		if !o.Cid.Defined() {
			bar.update(o)
			return
		}
		root = o
		if c.Quieter || printErr != nil {
			return
		}
		bar.clear()
		switch {
		case g.json():
			printErr = g.printJSON(o)
		case c.Quiet:
			g.printf("%s\n", o.Cid)
		default:
			g.printf("added %s %s\n", o.Cid, o.Name)
		}
	})
	bar.finish()
	if err != nil {
		return err
	}
	if printErr != nil {
		return printErr
	}
	if !root.Cid.Defined() {
		return fmt.Errorf("the daemon added nothing: check the paths")
	}
	if c.Quieter {
		if g.json() {
			return g.printJSON(root)
		}
		g.printf("%s\n", root.Cid)
	}
	if c.Wait && !c.NoPin {
		if _, err := c.WaitFlags.waitFor(g, cl, root.Cid, api.TrackerStatusPinned, 1); err != nil {
			return err
		}
	}
	return nil
}
