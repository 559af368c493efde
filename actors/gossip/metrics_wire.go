package gossip

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/internal/wirepb"
)

// Metrics gossip crosses peers as the Metrics message of internal/wirepb/metrics.proto (what
// this release sends; testdata/golden pins its bytes) or as a JSON array of api.Metric (what
// the previous release sent, read during a rolling upgrade; the next release drops it). The
// previous release already read both forms, as with the remote calls (cluster/rpcwire).

// encodeMetrics is the wire form of a metrics message.
func encodeMetrics(ms []api.Metric) ([]byte, error) {
	w := &wirepb.Metrics{Metrics: make([]*wirepb.Metric, len(ms))}
	for i, m := range ms {
		w.Metrics[i] = &wirepb.Metric{Name: m.Name, Peer: []byte(m.Peer), Value: m.Value, Expire: m.Expire,
			Valid: m.Valid, Weight: m.Weight, Partitionable: m.Partitionable, ReceivedAt: m.ReceivedAt}
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(w)
}

// decodeMetrics reads a metrics message in either form. It treats data as hostile.
func decodeMetrics(data []byte) ([]api.Metric, error) {
	if isJSONArray(data) {
		var ms []api.Metric
		if err := json.Unmarshal(data, &ms); err != nil {
			return nil, fmt.Errorf("%w: metrics: %v", api.ErrInvalid, err)
		}
		return ms, nil
	}
	var w wirepb.Metrics
	if err := proto.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%w: metrics: %v", api.ErrInvalid, err)
	}
	ms := make([]api.Metric, len(w.Metrics))
	for i, wm := range w.Metrics {
		p, err := peerIDFromWire(wm.Peer, "metric.peer")
		if err != nil {
			return nil, err
		}
		ms[i] = api.Metric{Name: wm.Name, Peer: p, Value: wm.Value, Expire: wm.Expire, Valid: wm.Valid,
			Weight: wm.Weight, Partitionable: wm.Partitionable, ReceivedAt: wm.ReceivedAt}
	}
	return ms, nil
}

// isJSONArray tells the JSON form by its first byte, as json.Marshal writes it: '[' or the
// 'n' of null (a nil slice). As protobuf tags these are field 11 with the start-group wire
// type and field 13 with wire type 6, which no Metrics message holds. (Not JSON whitespace:
// '\n' is the tag of Metrics.metrics.) Empty data is an empty protobuf message.
func isJSONArray(data []byte) bool {
	return len(data) > 0 && (data[0] == '[' || data[0] == 'n')
}

// peerIDFromWire reads a peer ID field; empty is the zero ID.
func peerIDFromWire(b []byte, what string) (peer.ID, error) {
	if len(b) == 0 {
		return "", nil
	}
	id, err := peer.IDFromBytes(b)
	if err != nil {
		return "", fmt.Errorf("%w: %s: bad peer ID: %v", api.ErrInvalid, what, err)
	}
	return id, nil
}
