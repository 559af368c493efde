package main

import (
	"context"
	"net/http"
	"net/http/httptest"
)

// floorPin is what the floor handler answers: a pin's JSON as the daemon writes it.
const floorPin = `{"cid":"bafkreiaaabc6g7qtksg3iusx7ltzljvyspi6nfa4yzt7zzspxvd242fkbi","type":"pin","allocations":[],"max_depth":-1,"timestamp":"2026-12-03T17:26:50.280398562Z","replication_factor_min":-1,"replication_factor_max":-1,"name":"bench-1","mode":"recursive"}` + "\n"

// httpFloor measures the ceiling of single POSTs on this machine: the same client and request
// loop as the ingest, against a net/http handler that answers every POST /pins/{cid} with a
// fixed pin and does nothing else, served from this process while the daemon is stopped. On a
// 2-core machine the client and the server share the cores, so the daemon's single-POST rate
// can only approach this figure: it is the baseline that says how much of the gap is ours.
func httpFloor(ctx context.Context, n, clients int) (ingestResult, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(floorPin))
	}))
	defer srv.Close()
	hc := newHTTPClient()
	defer hc.CloseIdleConnections()
	return ingest(ctx, hc, srv.URL, newCIDGen(), 0, n, clients, nil)
}
