package rest

import (
	"encoding/json"
	"testing"

	"github.com/pincluster/pincluster/api"
)

func TestPinTypeOf(t *testing.T) {
	c, _ := api.DecodeCid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")
	for _, typ := range []api.PinType{api.PinTypeData, api.PinTypeMeta, api.PinTypeClusterDAG, api.PinTypeShard} {
		p := api.NewPin(c, api.PinOptions{Name: `"type":"pin"`, Metadata: map[string]string{"type": "shard-pin"}})
		p.Type = typ
		js, _ := json.Marshal(p)
		if got := pinTypeOf(js); got != typ {
			t.Fatalf("pinTypeOf(%s) = %q, want %q", js, got, typ)
		}
	}
	if got := pinTypeOf([]byte(`{"cid":"x"}`)); got != api.PinTypeData {
		t.Fatalf("a pin without a type is %q, want pin", got)
	}
}
