package api

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// AddParams are the options of POST /add, carried as query parameters with IPFS Cluster's names.
type AddParams struct {
	PinOptions
	Local     bool   `json:"local"`
	Recursive bool   `json:"recursive"`
	Layout    string `json:"layout"`  // balanced (default) | trickle
	Chunker   string `json:"chunker"` // size-N | rabin | rabin-min-avg-max
	RawLeaves bool   `json:"raw_leaves"`
	// RawLeavesSet says RawLeaves was given (raw-leaves in the query, --raw-leaves on the CLI).
	// Unset and false, Kubo's default applies: raw leaves with CIDv1 (see UseRawLeaves).
	RawLeavesSet      bool   `json:"raw_leaves_set,omitempty"`
	Hidden            bool   `json:"hidden"`
	WrapWithDirectory bool   `json:"wrap_with_directory"`
	Progress          bool   `json:"progress"`
	CidVersion        int    `json:"cid_version"`
	HashFun           string `json:"hash"`
	Format            string `json:"format"` // unixfs (default) | car
	NoPin             bool   `json:"no_pin"`
	// Shard splits the DAG into shards of at most ShardSize bytes, each pinned on its own
	// allocations under a cluster-DAG and a meta-pin (IPFS Cluster's names: shard, shard-size).
	Shard     bool   `json:"shard"`
	ShardSize uint64 `json:"shard_size"`
}

// DefaultShardSize is IPFS Cluster's default shard size (100 MiB).
const DefaultShardSize = 100 << 20

// DefaultAddParams are the add defaults (IPFS's: balanced, size-262144, CIDv0, sha2-256).
func DefaultAddParams() AddParams {
	return AddParams{Layout: "balanced", Chunker: "size-262144", HashFun: "sha2-256", Format: "unixfs"}
}

var chunkerRe = regexp.MustCompile(`^(size-[0-9]+|rabin|rabin-[0-9]+-[0-9]+-[0-9]+|rabin-[0-9]+)$`)

// SupportedHashes are the hash functions add accepts (the hash option, case-insensitive): the
// multihashes that IPFS nodes store blocks of. Others, md5 among them, are refused as insecure
// by the blockstore (boxo's verifcid, in Kubo too), so they must be refused before any byte is
// read, not when the blocks are written after the files were reported as added.
var SupportedHashes = []string{"sha2-256", "sha2-512", "sha3-224", "sha3-256", "sha3-384", "sha3-512",
	"keccak-256", "keccak-512", "blake2b-256", "blake2b-384", "blake2b-512",
	"blake2s-256", "blake3", "sha1"}

// Validate checks the add-specific options and the pin options' name and metadata limits (the
// replication factors are checked by the peer, which knows the cluster defaults).
func (a AddParams) Validate() error {
	if err := a.PinOptions.ValidateLimits(); err != nil {
		return err
	}
	// Checked before the data is read: the pin made after it would be refused.
	if err := a.PinOptions.ValidateExpiry(time.Now()); err != nil {
		return err
	}
	switch a.Layout {
	case "", "balanced", "trickle":
	default:
		return fmt.Errorf("%w: unknown layout %q (use balanced or trickle)", ErrInvalid, a.Layout)
	}
	if a.Chunker != "" && !chunkerRe.MatchString(a.Chunker) {
		return fmt.Errorf("%w: bad chunker %q (use size-N, rabin or rabin-MIN-AVG-MAX)", ErrInvalid, a.Chunker)
	}
	if a.CidVersion != 0 && a.CidVersion != 1 {
		return fmt.Errorf("%w: cid-version must be 0 or 1, got %d", ErrInvalid, a.CidVersion)
	}
	if a.HashFun != "" && !slices.Contains(SupportedHashes, strings.ToLower(a.HashFun)) {
		return fmt.Errorf("%w: unsupported hash function %q (use one of %s)", ErrInvalid, a.HashFun, strings.Join(SupportedHashes, ", "))
	}
	switch a.Format {
	case "", "unixfs", "car":
	default:
		return fmt.Errorf("%w: unknown format %q (use unixfs or car)", ErrInvalid, a.Format)
	}
	if a.Format == "car" && a.WrapWithDirectory {
		// ipfs-cluster-ctl's wording: a CAR brings its own root, there is nothing to wrap.
		return fmt.Errorf("%w: only a single CAR file can be added and wrap-with-directory is not supported", ErrInvalid)
	}
	return a.validateShard()
}

// CidV1 says the add makes CIDv1: asked for, or implied by a hash other than sha2-256 (CIDv0
// is sha2-256 only; Kubo upgrades too).
func (a AddParams) CidV1() bool {
	return a.CidVersion == 1 || (a.HashFun != "" && !strings.EqualFold(a.HashFun, "sha2-256"))
}

// UseRawLeaves is whether leaves are raw blocks: RawLeaves when given, else Kubo's default,
// raw leaves with CIDv1.
func (a AddParams) UseRawLeaves() bool {
	if a.RawLeaves || a.RawLeavesSet {
		return a.RawLeaves
	}
	return a.CidV1()
}

// validateShard checks the sharding options: a shard must hold at least one chunk (the
// largest a chunker makes), and sharding spreads the DAG over several peers, so it is
// neither local nor unpinned.
func (a AddParams) validateShard() error {
	if !a.Shard {
		return nil
	}
	switch {
	case a.Local:
		return fmt.Errorf("%w: shard and local do not go together: a sharded add spreads the DAG over several peers", ErrInvalid)
	case a.NoPin:
		return fmt.Errorf("%w: shard and no-pin do not go together: the shards are placed by pinning them", ErrInvalid)
	case a.PinUpdate.Defined():
		return fmt.Errorf("%w: shard and pin-update do not go together", ErrInvalid)
	case a.Mode == PinModeDirect:
		return fmt.Errorf("%w: a sharded add pins the whole DAG: mode must be recursive", ErrInvalid)
	}
	chunk := a.MaxChunkSize()
	if a.ShardSize < chunk {
		return fmt.Errorf("%w: shard-size=%d is smaller than one chunk (%d bytes with chunker %q): use a shard size of at least %d", ErrInvalid, a.ShardSize, chunk, a.chunkerOrDefault(), chunk)
	}
	return nil
}

func (a AddParams) chunkerOrDefault() string {
	if a.Chunker == "" {
		return DefaultAddParams().Chunker
	}
	return a.Chunker
}

// MaxChunkSize is the largest chunk the chunker makes: N for size-N, the maximum for rabin
// (boxo's default rabin average is 256 KiB, its maximum 1.5 times that: 393216).
func (a AddParams) MaxChunkSize() uint64 {
	c := a.chunkerOrDefault()
	parts := strings.Split(c, "-")
	last := func() uint64 {
		n, _ := strconv.ParseUint(parts[len(parts)-1], 10, 64)
		return n
	}
	switch {
	case parts[0] == "size" && len(parts) == 2:
		return last()
	case c == "rabin":
		return 256 << 10 * 3 / 2
	case parts[0] == "rabin" && len(parts) == 2: // rabin-AVG: boxo's maximum is AVG*1.5
		return last() * 3 / 2
	case parts[0] == "rabin" && len(parts) == 4:
		return last()
	}
	return 0
}

// ToQuery encodes the parameters for POST /add.
func (a AddParams) ToQuery() url.Values {
	q := a.PinOptions.ToQuery()
	b := strconv.FormatBool
	q.Set("local", b(a.Local))
	q.Set("recursive", b(a.Recursive))
	if a.Layout != "" {
		q.Set("layout", a.Layout)
	}
	if a.Chunker != "" {
		q.Set("chunker", a.Chunker)
	}
	if a.RawLeaves || a.RawLeavesSet { // absent, the server applies Kubo's default
		q.Set("raw-leaves", b(a.RawLeaves))
	}
	q.Set("hidden", b(a.Hidden))
	q.Set("wrap-with-directory", b(a.WrapWithDirectory))
	q.Set("progress", b(a.Progress))
	q.Set("cid-version", strconv.Itoa(a.CidVersion))
	if a.HashFun != "" {
		q.Set("hash", a.HashFun)
	}
	if a.Format != "" {
		q.Set("format", a.Format)
	}
	q.Set("no-pin", b(a.NoPin))
	if a.Shard {
		q.Set("shard", "true")
		q.Set("shard-size", strconv.FormatUint(a.ShardSize, 10))
	}
	return q
}

// AddParamsFromQuery decodes POST /add query parameters over DefaultAddParams.
func AddParamsFromQuery(q url.Values, now time.Time) (AddParams, error) {
	a := DefaultAddParams()
	opts, err := PinOptionsFromQuery(q, now)
	if err != nil {
		return a, err
	}
	a.PinOptions = opts
	boolean := func(key string, dst *bool) error {
		v := q.Get(key)
		if v == "" {
			return nil
		}
		x, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%w: %s=%q is not a boolean", ErrInvalid, key, v)
		}
		*dst = x
		return nil
	}
	for key, dst := range map[string]*bool{"local": &a.Local, "recursive": &a.Recursive, "raw-leaves": &a.RawLeaves,
		"hidden": &a.Hidden, "wrap-with-directory": &a.WrapWithDirectory, "progress": &a.Progress, "no-pin": &a.NoPin,
		"shard": &a.Shard} {
		if err := boolean(key, dst); err != nil {
			return a, err
		}
	}
	a.RawLeavesSet = q.Get("raw-leaves") != ""
	if v := q.Get("layout"); v != "" {
		a.Layout = v
	}
	if v := q.Get("chunker"); v != "" {
		a.Chunker = v
	}
	if v := q.Get("cid-version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return a, fmt.Errorf("%w: cid-version=%q is not an integer", ErrInvalid, v)
		}
		a.CidVersion = n
	}
	if v := q.Get("hash"); v != "" {
		a.HashFun = v
	}
	if v := q.Get("format"); v != "" {
		a.Format = v
	}
	if a.Shard {
		a.ShardSize = DefaultShardSize
	}
	if v := q.Get("shard-size"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return a, fmt.Errorf("%w: shard-size=%q is not a number of bytes", ErrInvalid, v)
		}
		a.ShardSize = n
	}
	return a, a.Validate()
}

// AddedOutput is one line of the streamed POST /add response: a file or directory added
// (Cid set) or a progress update (Bytes set, Cid undefined).
type AddedOutput struct {
	Name        string    `json:"name"`
	Cid         Cid       `json:"cid,omitzero"`
	Bytes       uint64    `json:"bytes,omitempty"`
	Size        uint64    `json:"size,omitempty"`
	Allocations []peer.ID `json:"allocations,omitempty"`
}
