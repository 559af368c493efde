package persistence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pincluster/pincluster/api"
)

// pinDecoder decodes the stored pin JSON of a snapshot's lookups (Snapshot.GetPins). A batch
// ingest stores each chunk's pins with one timestamp, and most with the same options and
// allocations, so their JSON differs only in the CID: the decoder decodes the first pin of a
// shape (encoding/json) and, for the next pins whose JSON is that one's around another CID's
// string, copies that pin with the new CID. Decoding was a third of the lookups' CPU in a
// rerun of a batch ingest (every line already stored), which compares each line with its
// stored pin. It is ingest's pinEncoder backwards.
//
// The result is what json.Unmarshal gives: a template is kept only when its JSON is exactly
// what api.MarshalPin writes for its pin, which puts the CID first (`{"cid":"<cid>"`) and
// names no other field cid, so that a JSON equal to it but for that string (which never holds
// a quote or an escape) decodes to the same pin with the CID that string spells. A JSON of
// another layout (an import of IPFS Cluster's state, a CID in another base) is decoded in
// full, as is one that matches no template. The pins decoded from one template share its
// slices and maps (allocations, metadata): callers read them only.
type pinDecoder struct {
	pin  api.Pin // the template's pin
	post []byte  // its JSON after its CID's string; nil: no template
	hits int     // pins decoded from the template
	full int     // pins decoded in full
}

// retryTemplate: while the template has served no pin, a new one is made of one full decode
// in this many (making one costs a marshal: pins of a shape each, such as pins added one by
// one, each with its own timestamp, were decoded 20% slower when every one made a template).
const retryTemplate = 16

// cidPrefix opens every pin JSON that api.MarshalPin writes.
var cidPrefix = []byte(`{"cid":"`)

// decode returns the pin of c stored as js.
func (d *pinDecoder) decode(c api.Cid, js []byte) (api.Pin, error) {
	if d.post != nil && len(js) > len(cidPrefix)+len(d.post) && bytes.HasSuffix(js, d.post) &&
		bytes.HasPrefix(js, cidPrefix) && string(js[len(cidPrefix):len(js)-len(d.post)]) == c.String() {
		d.hits++
		p := d.pin
		p.Cid = c
		return p, nil
	}
	var p api.Pin
	if err := json.Unmarshal(js, &p); err != nil {
		return api.Pin{}, fmt.Errorf("persistence: stored pin of %s is not valid JSON: %w", c, err)
	}
	if d.full++; d.post != nil && d.hits == 0 && d.full%retryTemplate != 0 {
		return p, nil
	}
	d.post, d.hits = nil, 0
	if p.Cid == c {
		if b, err := api.MarshalPin(&p); err == nil && bytes.Equal(b, js) { // then js starts {"cid":"<c>"
			// Clipped: a caller appending to a shared slice copies it.
			p.Allocations, p.UserAllocations = slices.Clip(p.Allocations), slices.Clip(p.UserAllocations)
			p.Origins = slices.Clip(p.Origins)
			d.pin, d.post = p, bytes.Clone(js[len(cidPrefix)+len(c.String()):])
		}
	}
	return p, nil
}
