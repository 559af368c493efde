package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pincluster/pincluster/api"
)

// metaTag is how a stored meta-pin's JSON names its type (encoding/json writes it so). A pin
// whose name or metadata merely holds the text is ruled out by decoding it.
var metaTag = []byte(`"type":"meta-pin"`)

// metaPinType is a meta-pin's "type" value as encoding/json stores it: what a scanned pin's
// type span holds exactly (localPin.spans.typ).
const metaPinType = `"` + string(api.PinTypeMeta) + `"`

// localMetaStatus is this peer's status of the stored pin js when it is a meta-pin (meta
// true): the aggregate of its shards, as status --local <cid> shows it, the shard list read
// from its cluster-DAG (never from the pinset). A local status pass (localPass) calls it for
// every pin; only a pin whose bytes hold metaTag is decoded.
func (s *StatusService) localMetaStatus(ctx context.Context, js []byte) (st api.PinInfoShort, meta bool, err error) {
	if !bytes.Contains(js, metaTag) {
		return st, false, nil
	}
	var pin api.Pin
	if err := json.Unmarshal(js, &pin); err != nil {
		return st, false, fmt.Errorf("stored pin is not valid JSON: %w", err)
	}
	if pin.TypeOrData() != api.PinTypeMeta {
		return st, false, nil
	}
	gs, err := s.statusOf(ctx, []api.Cid{pin.Cid}, true)
	if err != nil {
		return st, true, err
	}
	return gs[0].PeerMap[s.d.Members.Self().String()], true, nil
}

// recoverShards recovers every part of the meta-pin c before c itself is recovered (Recover):
// each shard on its allocations (this peer only when local) and the cluster-DAG, the shard
// list read from the cluster-DAG. Nothing for a pin of another type. A part no longer in the
// pinset (an unpin racing the recover) is skipped; any other failure stops the recover.
func (s *StatusService) recoverShards(ctx context.Context, c api.Cid, local bool) error {
	pin, ok, err := s.d.Store.GetPin(c)
	if err != nil || !ok || pin.TypeOrData() != api.PinTypeMeta {
		return err
	}
	dag, shards, err := shardsOf(ctx, s.d, pin)
	if err != nil {
		return fmt.Errorf("recover %s: %w", c, err)
	}
	for _, part := range append(shards, dag) {
		if _, err := s.Recover(ctx, part, local); err != nil && !errors.Is(err, api.ErrNotFound) {
			return fmt.Errorf("recover %s: part %s: %w", c, part, err)
		}
	}
	return nil
}

// aggregateOne is aggregateSharded of one status: g itself unless it is a meta-pin's.
func (s *StatusService) aggregateOne(ctx context.Context, g api.GlobalPinInfo, local bool) (api.GlobalPinInfo, error) {
	gs := []api.GlobalPinInfo{g}
	err := s.aggregateSharded(ctx, gs, local)
	return gs[0], err
}
