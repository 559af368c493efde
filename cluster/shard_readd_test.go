package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"maps"
	"mime/multipart"
	"testing"

	"github.com/pincluster/pincluster/api"
)

func multipartOf(t *testing.T, data []byte) *multipart.Reader {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "f.bin")
	fw.Write(data)
	mw.Close()
	return multipart.NewReader(&buf, mw.Boundary())
}

// Content already added sharded is added again only with the same sharding: another shard
// size, or a plain add, would replace the meta-pin and leave its shards and cluster-DAG pinned
// for good (they cannot be unpinned alone). A plain pin's requests go to the meta-pin.
func TestReAddOfShardedContent(t *testing.T) {
	svc, cm, _, _ := shardWorld(t, 1<<20)
	ctx := context.Background()
	data := make([]byte, 40<<10)
	rand.Read(data)
	s := svc.AddService
	opts := api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1}
	// add is a sharded add up to its commit (Add then waits for the peers to pin, which the
	// fakes never do).
	add := func(params api.AddParams) (api.Cid, error) {
		sp, err := s.d.Blocks.NewSpool()
		if err != nil {
			t.Fatal(err)
		}
		defer sp.Close()
		root, err := s.chunk(ctx, sp, multipartOf(t, data), nil, params, func(api.AddedOutput) {})
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.planShards(ctx, sp, root, params.ShardSize, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.pushShards(ctx, sp, a, 1, false, func(api.AddedOutput) {}); err != nil {
			t.Fatal(err)
		}
		return root, s.commitSharded(ctx, a, opts)
	}
	// The content's root as a plain pin holding a request (the sharded add's root is the
	// same as a plain add's with the same chunker).
	sp, err := s.d.Blocks.NewSpool()
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.chunk(ctx, sp, multipartOf(t, data), nil, shardParams(8<<10), func(api.AddedOutput) {})
	sp.Close()
	if err != nil {
		t.Fatal(err)
	}
	req := map[string]string{api.RequestMetaPrefix + "0123456789abcdef0123456789abcdef": `{"created":"2026-12-05T05:00:00Z"}`}
	if _, err := svc.PinService.PinRequests(ctx, root, api.PinOptions{ReplicationFactorMin: 1, ReplicationFactorMax: 1, Metadata: req}); err != nil {
		t.Fatal(err)
	}
	if r, err := add(shardParams(8 << 10)); err != nil || r != root {
		t.Fatalf("sharded add over a plain pin: %s %v", r, err)
	}
	meta, _ := svc.PinService.PinGet(ctx, root)
	if meta.Type != api.PinTypeMeta || !maps.Equal(meta.Metadata, req) {
		t.Fatalf("meta-pin %v with metadata %v, want the request kept", meta.Type, meta.Metadata)
	}
	if _, err := add(shardParams(8 << 10)); err != nil {
		t.Fatalf("the same sharded add again: %v", err)
	}
	before := len(cm.changes)
	if _, err := add(shardParams(16 << 10)); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("another shard size over the meta-pin: %v, want a refusal", err)
	}
	if _, err := s.commitPin(ctx, root, opts, nil); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("a plain add over the meta-pin: %v, want a refusal", err)
	}
	if len(cm.changes) != before {
		t.Fatalf("refused adds committed %d changes", len(cm.changes)-before)
	}
}
