package ingest

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

// A batch line re-pinning a stored pin keeps the pin's Pinning Service API requests, as a
// single re-pin does (api.KeepRequests): a rerun with the stored options is unchanged, other
// metadata replaces all but the requests, and a line whose metadata no longer fits beside the
// requests fails alone.
func TestRunKeepsPinningServiceRequests(t *testing.T) {
	deps := newMemDeps()
	svc := New(deps, Config{ReplicationFactorMin: -1, ReplicationFactorMax: -1})
	req := api.RequestMetaPrefix + "0123456789abcdef0123456789abcdef"
	reqs := map[string]string{req: strings.Repeat("r", api.MaxMetadataBytes/2)}
	a := mustCid(t, cidA)
	deps.pins[a] = api.Pin{Cid: mustDecode(t, cidA), PinOptions: api.PinOptions{ReplicationFactorMin: -1, ReplicationFactorMax: -1, Metadata: maps.Clone(reqs)}}

	commits := deps.commits
	_, sum, err := run(t, svc, api.BatchPin, cidA+"\n", api.PinOptions{})
	if err != nil || sum.OK != 1 || sum.Unchanged != 1 || deps.commits != commits {
		t.Fatalf("a line without metadata on a pin holding requests: %+v %v, want unchanged", sum, err)
	}
	_, sum, err = run(t, svc, api.BatchPin, `{"cid":"`+cidA+`","metadata":{"team":"b"}}`+"\n", api.PinOptions{})
	want := maps.Clone(reqs)
	want["team"] = "b"
	if got := deps.pins[a].Metadata; err != nil || sum.OK != 1 || !maps.Equal(got, want) {
		t.Fatalf("re-pin with metadata: %+v %v, stored %d keys, want the requests kept", sum, err, len(got))
	}
	// A new pin's line cannot bring requests.
	_, sum, err = run(t, svc, api.BatchPin, `{"cid":"`+cidB+`","metadata":{"`+req+`":"{}","pinsvc":"1","team":"x"}}`+"\n", api.PinOptions{})
	if got := deps.pins[mustCid(t, cidB)].Metadata; err != nil || sum.OK != 1 || !maps.Equal(got, map[string]string{"team": "x"}) {
		t.Fatalf("a new pin's request keys: %v %+v %v, want them dropped", got, sum, err)
	}
	big := strings.Repeat("b", api.MaxMetadataBytes/2+1)
	input := fmt.Sprintf(`{"cid":"%s","metadata":{"big":"%s"}}`+"\n"+`{"cid":"%s","metadata":{"team":"c"}}`+"\n", cidA, big, cidA)
	evs, sum, err := run(t, svc, api.BatchPin, input, api.PinOptions{})
	if err != nil || !equalInts(failedLines(evs), []int{1}) || sum.OK != 1 || deps.pins[a].Metadata["team"] != "c" || deps.pins[a].Metadata[req] == "" {
		t.Fatalf("a line over the bounds with the requests: %+v %+v %v, stored %v keys", evs, sum, err, len(deps.pins[a].Metadata))
	}
}
