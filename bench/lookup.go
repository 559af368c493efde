package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"time"
)

// lookupTarget is the target of an exact-name lookup among the suite's pins (issue 10).
const lookupTarget = 5 * time.Millisecond

// lookupResult is the cost of finding pins by name in a pinset of many pins.
type lookupResult struct {
	exact   time.Duration // best GET /allocations?name= of one named pin (the index)
	partial listResult    // GET /allocations?name=...&name-match=partial (a checked scan)
}

// measureLookups pins one named CID beside the suite's unnamed pins, then times an exact-name
// lookup (best of 5: one index seek and one record read) and a partial-name lookup that
// matches it (a scan of the whole pinset, the listing's baseline).
func measureLookups(ctx context.Context, hc *http.Client, base string, gen cidGen, at int) (lookupResult, error) {
	var res lookupResult
	c := gen.at(at)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/pins/"+c+"?name=bench-lookup-target", nil)
	if err != nil {
		return res, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return res, fmt.Errorf("pinning the lookup target: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return res, fmt.Errorf("pinning the lookup target: %s", resp.Status)
	}
	for range 5 {
		start := time.Now()
		body, err := get(ctx, hc, base+"/allocations?name=bench-lookup-target")
		d := time.Since(start)
		if err != nil {
			return res, err
		}
		if n := bytes.Count(body, []byte{'\n'}); n != 1 {
			return res, fmt.Errorf("lookup by name found %d pins, want 1", n)
		}
		if res.exact == 0 || d < res.exact {
			res.exact = d
		}
	}
	start := time.Now()
	body, err := get(ctx, hc, base+"/allocations?name=lookup-tar&name-match=partial")
	if err != nil {
		return res, err
	}
	res.partial = listResult{elapsed: time.Since(start), bytes: int64(len(body)), pins: bytes.Count(body, []byte{'\n'})}
	if res.partial.pins != 1 {
		return res, fmt.Errorf("partial lookup found %d pins, want 1", res.partial.pins)
	}
	return res, nil
}
