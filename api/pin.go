package api

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// PinMode is recursive (the whole DAG) or direct (the root block only).
type PinMode int

const (
	PinModeRecursive PinMode = iota
	PinModeDirect
)

// ParsePinMode reads "recursive" (or "") and "direct".
func ParsePinMode(s string) (PinMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "recursive":
		return PinModeRecursive, nil
	case "direct":
		return PinModeDirect, nil
	}
	return PinModeRecursive, fmt.Errorf("%w: unknown pin mode %q (use recursive or direct)", ErrInvalid, s)
}

func (m PinMode) String() string {
	if m == PinModeDirect {
		return "direct"
	}
	return "recursive"
}

func (m PinMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

func (m *PinMode) UnmarshalText(b []byte) error {
	v, err := ParsePinMode(string(b))
	*m = v
	return err
}

// PinType is the kind of pin, with IPFS Cluster's names (its JSON form too). Sharded adds
// (cluster/shard*.go) make the three sharding types; every other pin is "pin".
type PinType string

const (
	// PinTypeData is an ordinary pin of a DAG.
	PinTypeData PinType = "pin"
	// PinTypeMeta is the root of a sharded DAG; Reference is its cluster-DAG. It stands for
	// the whole DAG: status aggregates its shards, unpinning it unpins every shard.
	PinTypeMeta PinType = "meta-pin"
	// PinTypeClusterDAG is the node linking to every shard of a sharded DAG, pinned direct
	// (max_depth 0) on every peer; Reference is the meta-pin.
	PinTypeClusterDAG PinType = "clusterdag-pin"
	// PinTypeShard is one shard: a node linking to the blocks it holds, pinned with max_depth
	// 1 on its own allocations; Reference is the previous shard (none for the first).
	PinTypeShard PinType = "shard-pin"
)

// PinTypes are the pin types, in IPFS Cluster's order.
var PinTypes = []PinType{PinTypeData, PinTypeMeta, PinTypeClusterDAG, PinTypeShard}

// ParsePinTypes reads IPFS Cluster's pin type filter: a comma list of pin, meta-pin,
// clusterdag-pin, shard-pin and all ("" is pin only, as IPFS Cluster's pin ls lists by
// default). It returns the set asked for.
func ParsePinTypes(s string) (map[PinType]bool, error) {
	set := map[PinType]bool{}
	if strings.TrimSpace(s) == "" {
		set[PinTypeData] = true
		return set, nil
	}
	for _, t := range strings.Split(s, ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		if alias, ok := pinTypeAliases[t]; ok {
			t = string(alias)
		}
		switch {
		case t == "":
		case t == "all":
			for _, pt := range PinTypes {
				set[pt] = true
			}
		case slices.Contains(PinTypes, PinType(t)):
			set[PinType(t)] = true
		default:
			return nil, fmt.Errorf("%w: unknown pin type filter %q (use all, pin, meta-pin, clusterdag-pin or shard-pin)", ErrInvalid, t)
		}
	}
	return set, nil
}

// pinTypeAliases are the short names earlier pincluster versions accepted in the filter.
var pinTypeAliases = map[string]PinType{"data": PinTypeData, "meta": PinTypeMeta, "clusterdag": PinTypeClusterDAG, "shard": PinTypeShard}

// TypeOrData is p's type, "pin" for a pin stored without one.
func (p Pin) TypeOrData() PinType {
	if p.Type == "" {
		return PinTypeData
	}
	return p.Type
}

// PinOptions are the user-settable options of a pin.
type PinOptions struct {
	ReplicationFactorMin int               `json:"replication_factor_min"`
	ReplicationFactorMax int               `json:"replication_factor_max"`
	Name                 string            `json:"name"`
	Mode                 PinMode           `json:"mode"`
	UserAllocations      []peer.ID         `json:"user_allocations,omitempty"`
	ExpireAt             time.Time         `json:"expire_at,omitzero"`
	Metadata             map[string]string `json:"metadata,omitempty"`
	PinUpdate            Cid               `json:"pin_update,omitzero"`
	Origins              []string          `json:"origins,omitempty"`
}

// Pin is an item of the shared pinset.
type Pin struct {
	Cid         Cid       `json:"cid"`
	Type        PinType   `json:"type"`
	Allocations []peer.ID `json:"allocations"`
	MaxDepth    int       `json:"max_depth"`
	Reference   *Cid      `json:"reference,omitempty"`
	Timestamp   time.Time `json:"timestamp"`
	PinOptions
}

// NewPin builds a pin of c with opts, filling type and max_depth from the mode.
func NewPin(c Cid, opts PinOptions) Pin {
	p := Pin{Cid: c, Type: PinTypeData, PinOptions: opts, Allocations: []peer.ID{}}
	p.MaxDepth = -1
	if opts.Mode == PinModeDirect {
		p.MaxDepth = 0
	}
	return p
}

// Expired reports whether the pin has an expiry that is at or before now.
func (p Pin) Expired(now time.Time) bool {
	return !p.ExpireAt.IsZero() && !p.ExpireAt.After(now)
}

// ValidateExpiry refuses an expiry at or before now, as IPFS Cluster does ("pin.ExpireAt set
// before current time"): such a pin would be acknowledged and then unpinned by the next
// expiry pass, which is a slow way to say no. It is checked where a client's pin enters (the
// REST and batch APIs), not on pins that are already in the pinset (state import, ops from
// other peers, the allocator), whose expiry may have passed since. Errors wrap ErrInvalid.
func (o PinOptions) ValidateExpiry(now time.Time) error {
	if !o.ExpireAt.IsZero() && !o.ExpireAt.After(now) {
		return fmt.Errorf("%w: expire_at (%s) is not in the future", ErrInvalid, o.ExpireAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// AllocatedTo reports whether p is allocated to id. Empty allocations mean every peer.
func (p Pin) AllocatedTo(id peer.ID) bool {
	if len(p.Allocations) == 0 {
		return true
	}
	for _, a := range p.Allocations {
		if a == id {
			return true
		}
	}
	return false
}

// ApplyDefaults fills replication factors left at 0 (unset) from the cluster defaults. When only
// one factor is given and the default of the other is -1 (everywhere), the other takes the given
// value, so "--replication-min 2" alone means 2..2 on a default config.
func (o *PinOptions) ApplyDefaults(defMin, defMax int) {
	switch {
	case o.ReplicationFactorMin == 0 && o.ReplicationFactorMax == 0:
		o.ReplicationFactorMin, o.ReplicationFactorMax = defMin, defMax
	case o.ReplicationFactorMin == 0:
		o.ReplicationFactorMin = defMin
		if defMin == -1 || defMin > o.ReplicationFactorMax && o.ReplicationFactorMax > 0 {
			o.ReplicationFactorMin = o.ReplicationFactorMax
		}
	case o.ReplicationFactorMax == 0:
		o.ReplicationFactorMax = defMax
		if defMax == -1 || defMax < o.ReplicationFactorMin && o.ReplicationFactorMin > 0 {
			o.ReplicationFactorMax = o.ReplicationFactorMin
		}
	}
}

// ToQuery encodes the options as REST query parameters (IPFS Cluster's names).
func (o PinOptions) ToQuery() url.Values {
	q := url.Values{}
	if o.ReplicationFactorMin != 0 {
		q.Set("replication-min", strconv.Itoa(o.ReplicationFactorMin))
	}
	if o.ReplicationFactorMax != 0 {
		q.Set("replication-max", strconv.Itoa(o.ReplicationFactorMax))
	}
	if o.Name != "" {
		q.Set("name", o.Name)
	}
	q.Set("mode", o.Mode.String())
	if len(o.UserAllocations) > 0 {
		s := make([]string, len(o.UserAllocations))
		for i, a := range o.UserAllocations {
			s[i] = a.String()
		}
		q.Set("user-allocations", strings.Join(s, ","))
	}
	if !o.ExpireAt.IsZero() {
		q.Set("expire-at", o.ExpireAt.Format(time.RFC3339Nano))
	}
	keys := make([]string, 0, len(o.Metadata))
	for k := range o.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q.Set("meta-"+k, o.Metadata[k])
	}
	if o.PinUpdate.Defined() {
		q.Set("pin-update", o.PinUpdate.String())
	}
	if len(o.Origins) > 0 {
		q.Set("origins", strings.Join(o.Origins, ","))
	}
	return q
}

// PinOptionsFromQuery decodes REST query parameters. Unset replication factors stay 0 (the
// caller applies cluster defaults, then Validate). now is used for expire-in. Every bad value
// yields an ErrInvalid naming the parameter.
func PinOptionsFromQuery(q url.Values, now time.Time) (PinOptions, error) {
	o := PinOptions{}
	atoi := func(key string) (int, bool, error) {
		v := q.Get(key)
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, false, fmt.Errorf("%w: %s=%q is not an integer", ErrInvalid, key, v)
		}
		return n, true, nil
	}
	if n, ok, err := atoi("replication"); err != nil {
		return o, err
	} else if ok {
		o.ReplicationFactorMin, o.ReplicationFactorMax = n, n
	}
	if n, ok, err := atoi("replication-min"); err != nil {
		return o, err
	} else if ok {
		o.ReplicationFactorMin = n
	}
	if n, ok, err := atoi("replication-max"); err != nil {
		return o, err
	} else if ok {
		o.ReplicationFactorMax = n
	}
	o.Name = q.Get("name")
	mode, err := ParsePinMode(q.Get("mode"))
	if err != nil {
		return o, err
	}
	o.Mode = mode
	if v := q.Get("user-allocations"); v != "" {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			id, err := peer.Decode(s)
			if err != nil {
				return o, fmt.Errorf("%w: user-allocations: %q is not a peer ID", ErrInvalid, s)
			}
			o.UserAllocations = append(o.UserAllocations, id)
		}
	}
	if v := q.Get("expire-at"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return o, fmt.Errorf("%w: expire-at=%q is not an RFC3339 time", ErrInvalid, v)
		}
		if !t.After(now) {
			return o, fmt.Errorf("%w: expire-at=%q is not in the future", ErrInvalid, v)
		}
		o.ExpireAt = t
	}
	if v := q.Get("expire-in"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return o, fmt.Errorf("%w: expire-in=%q is not a duration (e.g. 24h, 90m)", ErrInvalid, v)
		}
		if d <= 0 {
			return o, fmt.Errorf("%w: expire-in=%q must be positive", ErrInvalid, v)
		}
		o.ExpireAt = now.Add(d)
	}
	for k, vs := range q {
		if k == "meta-" {
			return o, fmt.Errorf("%w: meta-: the metadata key is empty (meta-<key>=<value>)", ErrInvalid)
		}
		if strings.HasPrefix(k, "meta-") && len(vs) > 0 {
			if o.Metadata == nil {
				o.Metadata = map[string]string{}
			}
			o.Metadata[k[5:]] = vs[0]
		}
	}
	if v := q.Get("pin-update"); v != "" {
		c, err := DecodeCid(v)
		if err != nil {
			return o, fmt.Errorf("pin-update: %w", err)
		}
		o.PinUpdate = c
	}
	if v := q.Get("origins"); v != "" {
		if o.Origins, err = parseOrigins(v); err != nil {
			return o, err
		}
	}
	if err := o.validateReplication(FactorParams); err != nil {
		return o, err
	}
	return o, o.ValidateLimits()
}

// parseOrigins reads the origins query parameter as IPFS Cluster does: comma-separated
// multiaddresses, each naming its peer (/p2p/<id>), since a source is dialled by its ID.
func parseOrigins(v string) ([]string, error) {
	origins := strings.Split(v, ",")
	for i, s := range origins {
		origins[i] = strings.TrimSpace(s)
		m, err := ma.NewMultiaddr(origins[i])
		if err != nil {
			return nil, fmt.Errorf("%w: origins: %q is not a multiaddress: %v", ErrInvalid, s, err)
		}
		if _, err := m.ValueForProtocol(ma.P_P2P); err != nil {
			return nil, fmt.Errorf("%w: origins: %q does not name its peer (/p2p/<peer ID>)", ErrInvalid, s)
		}
	}
	return origins, nil
}
