package gossip

import (
	"context"
	"fmt"
	"slices"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"

	"github.com/pincluster/pincluster/crdt"
	"github.com/pincluster/pincluster/internal/wirepb"
	"github.com/pincluster/pincluster/messages"
)

// Version vector announcements travel on <cluster_name>/versions (actors/syncer/announce.go
// says why): each peer publishes its own. The announcer is the pubsub message's signer
// (StrictSign), so no peer speaks for another; only announcements of trusted peers are taken,
// and a malformed or oversized one is dropped and logged. The syncer rate-limits each peer.

// maxVersionsMessage bounds an announcement: a whole vector of 20,000 origins is about 900 KB.
const maxVersionsMessage = 1 << 20

// Versions takes the version vector announcements of other peers (the syncer's facade). It
// never blocks.
type Versions interface {
	Announced(from libp2ppeer.ID, a messages.VersionAnnouncement)
}

// PublishVersions publishes this peer's version vector announcement on the versions topic
// (syncer.AnnouncePublisher).
func (t *Topics) PublishVersions(ctx context.Context, a messages.VersionAnnouncement) error {
	b, err := encodeVersions(a)
	if err != nil {
		return err
	}
	return t.versions.Publish(ctx, b)
}

// encodeVersions is the wire form of an announcement (internal/wirepb/versions.proto), its
// entries in origin order so that the bytes are deterministic.
func encodeVersions(a messages.VersionAnnouncement) ([]byte, error) {
	origins := make([]libp2ppeer.ID, 0, len(a.Entries))
	for o := range a.Entries {
		origins = append(origins, o)
	}
	slices.Sort(origins)
	w := &wirepb.Versions{Sum: a.Sum[:], Full: a.Full, Entries: make([]*wirepb.VersionEntry, 0, len(origins))}
	for _, o := range origins {
		w.Entries = append(w.Entries, &wirepb.VersionEntry{Origin: []byte(o), Seq: a.Entries[o]})
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(w)
	if err != nil {
		return nil, err
	}
	if len(b) > maxVersionsMessage {
		return nil, fmt.Errorf("version vector announcement of %d bytes (limit %d)", len(b), maxVersionsMessage)
	}
	return b, nil
}

// decodeVersions reads an announcement. It treats data as hostile: a bad size, sum or origin,
// or an origin named twice, is an error.
func decodeVersions(data []byte) (messages.VersionAnnouncement, error) {
	var a messages.VersionAnnouncement
	if len(data) > maxVersionsMessage {
		return a, fmt.Errorf("version vector announcement of %d bytes (limit %d)", len(data), maxVersionsMessage)
	}
	var w wirepb.Versions
	if err := proto.Unmarshal(data, &w); err != nil {
		return a, fmt.Errorf("version vector announcement: %w", err)
	}
	if len(w.Sum) != crdt.SumSize {
		return a, fmt.Errorf("version vector announcement: a sum of %d bytes (want %d)", len(w.Sum), crdt.SumSize)
	}
	copy(a.Sum[:], w.Sum)
	a.Full = w.Full
	a.Entries = make(map[libp2ppeer.ID]uint64, len(w.Entries))
	for _, e := range w.Entries {
		id, err := libp2ppeer.IDFromBytes(e.Origin)
		if err != nil {
			return messages.VersionAnnouncement{}, fmt.Errorf("version vector announcement: origin: %w", err)
		}
		if _, dup := a.Entries[id]; dup {
			return messages.VersionAnnouncement{}, fmt.Errorf("version vector announcement: origin %s named twice", id)
		}
		a.Entries[id] = e.Seq
	}
	return a, nil
}

// onVersions hands a trusted peer's announcement to the syncer.
func (r *reader) onVersions(msg *pubsub.Message) {
	if r.deps.Versions == nil {
		return
	}
	if !r.deps.Roster.Trusted(msg.GetFrom()) {
		r.log.Debug("versions gossip: ignoring an announcement from an untrusted peer", "from", msg.GetFrom())
		return
	}
	a, err := decodeVersions(msg.Data)
	if err != nil {
		r.log.Warn("versions gossip: dropping a malformed announcement", "from", msg.GetFrom(), "bytes", len(msg.Data), "err", err)
		return
	}
	r.deps.Versions.Announced(msg.GetFrom(), a)
}
