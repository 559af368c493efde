package ipfsproxy

import (
	"strconv"

	"github.com/pincluster/pincluster/api"
)

// Kubo's add options (core/commands/add.go, Kubo 0.43) fall in four groups here:
//   - honoured: pin, pin-name, cid-version, raw-leaves, chunker (s), trickle (t), hash,
//     wrap-with-directory (w), hidden (H), progress (p), silent;
//   - the CLI's own, which only say which files the CLI reads and how it prints the result
//     (recursive, dereference-args, dereference-symlinks, stdin-name, ignore,
//     ignore-rules-path, quiet, quieter): Kubo's daemon ignores them, and so does the proxy;
//   - refused, below: the cluster's add does not implement them, and ignoring them would
//     store other content (other CIDs) or skip a side effect the client asked for;
//   - inline-limit: Kubo's CLI always sends its default (32), and it has no effect without
//     inline, which is refused.
//
// Options Kubo does not know are ignored, as Kubo's daemon ignores them.

// refusedAddFlags are boolean add options refused when true; false is Kubo's default (the
// cluster's behaviour), so it is accepted.
var refusedAddFlags = [][]string{
	{"only-hash", "n"}, {"nocopy"}, {"fscache"}, {"inline"}, {"preserve-mode"}, {"preserve-mtime"},
	{"fast-provide-root"}, {"fast-provide-dag"}, {"fast-provide-wait"},
}

// refusedAddValues are add options refused whatever their value: Kubo's CLI sends them only
// when the user gave them, and any value changes what Kubo stores (the DAG's shape, UnixFS
// metadata) or where it links it (to-files, in the node's MFS).
var refusedAddValues = []string{
	"max-file-links", "max-directory-links", "max-hamt-fanout", "mode", "mtime", "mtime-nsecs", "to-files",
}

// unsupportedAddOption is the 400 for an add option the cluster cannot honour.
func unsupportedAddOption(name string) error {
	return badArg("add option %q is not supported by the cluster's IPFS proxy (the cluster's add does not implement it): drop it, or add to Kubo directly and pin the CID with `pin add`", name)
}

// checkRefusedAddOptions refuses the add options the cluster cannot honour (see above), naming
// the first one, before anything is read or stored.
func checkRefusedAddOptions(q query) error {
	for _, names := range refusedAddFlags {
		v, err := q.bool(false, names...)
		if err != nil {
			return err
		}
		if v {
			return unsupportedAddOption(names[0])
		}
	}
	for _, name := range refusedAddValues {
		if _, set := q.get(name); set {
			return unsupportedAddOption(name)
		}
	}
	// Empty directories are always part of the import here (Kubo's default, empty-dirs=true,
	// which its CLI sends), so only leaving them out is refused.
	if v, err := q.bool(true, "empty-dirs", "E"); err != nil {
		return err
	} else if !v {
		return badArg("add option \"empty-dirs\"=false is not supported by the cluster's IPFS proxy: empty directories are always imported")
	}
	return nil
}

// addOptions are the proxy's add options beyond api.AddParams.
type addOptions struct {
	// silent: no line for the entries added (progress lines still go out), as Kubo's silent.
	silent bool
}

// addParams maps Kubo's add options to the cluster's.
func addParams(q query) (api.AddParams, addOptions, error) {
	p := api.DefaultAddParams()
	var o addOptions
	if err := checkRefusedAddOptions(q); err != nil {
		return p, o, err
	}
	boolOpt := func(dst *bool, def bool, names ...string) error {
		v, err := q.bool(def, names...)
		*dst = v
		return err
	}
	pin := true
	var trickle bool
	for _, b := range []struct {
		dst   *bool
		def   bool
		names []string
	}{{&pin, true, []string{"pin"}}, {&trickle, false, []string{"trickle", "t"}}, {&p.WrapWithDirectory, false, []string{"wrap-with-directory", "w"}},
		{&p.Hidden, false, []string{"hidden", "H"}}, {&p.Progress, false, []string{"progress", "p"}}, {&o.silent, false, []string{"silent"}}} {
		if err := boolOpt(b.dst, b.def, b.names...); err != nil {
			return p, o, err
		}
	}
	p.NoPin = !pin
	if trickle {
		p.Layout = "trickle"
	}
	if v := q.str("chunker", "s"); v != "" {
		p.Chunker = v
	}
	if v := q.str("hash"); v != "" {
		p.HashFun = v
	}
	if v, set := q.get("cid-version"); set {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, o, badArg("could not convert value %q to type \"int\" (for option \"-cid-version\")", v)
		}
		p.CidVersion = n
	}
	// Kubo: raw leaves by default with CIDv1, unless raw-leaves says otherwise.
	if err := boolOpt(&p.RawLeaves, p.CidVersion == 1, "raw-leaves"); err != nil {
		return p, o, err
	}
	_, p.RawLeavesSet = q.get("raw-leaves") // an explicit false keeps dag-pb leaves with CIDv1
	p.Name = q.str("pin-name")
	return p, o, p.Validate()
}
