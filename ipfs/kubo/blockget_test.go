package kubo

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/pincluster/pincluster/api"
)

func TestGetBlock(t *testing.T) {
	c, _ := api.DecodeCid(cidA)
	n := fakeKubo(t, map[string]http.HandlerFunc{
		"block/get": func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Query().Get("arg") {
			case cidA:
				w.Write([]byte("block bytes"))
			case cidB:
				w.Write(bytes.Repeat([]byte{1}, maxBlockGet+1))
			default:
				kuboErr(500, "block not found")(w, r)
			}
		},
	})
	ctx := context.Background()
	if got, err := n.GetBlock(ctx, c); err != nil || string(got) != "block bytes" {
		t.Fatalf("GetBlock = %q, %v", got, err)
	}
	big, _ := api.DecodeCid(cidB)
	if _, err := n.GetBlock(ctx, big); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("GetBlock of an oversized answer = %v", err)
	}
}
