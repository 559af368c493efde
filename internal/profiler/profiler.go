// Package profiler serves Go's profiler for operators (PINCLUSTER_PPROF). It is apart from
// peer because it is an HTTP server of its own, unrelated to the peer's parts.
package profiler

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// Start serves Go's profiler on addr (PINCLUSTER_PPROF=127.0.0.1:6060), for operators
// diagnosing a slow or large daemon. Only loopback addresses are accepted; port 0 takes a free
// port, which the log line names (several daemons on one host can share the setting).
func Start(addr string, log *slog.Logger) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		log.Warn("PINCLUSTER_PPROF must be a loopback host:port; profiler not started", "addr", addr)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Warn("profiler not started", "addr", addr, "err", err)
		return
	}
	go func() {
		if err := http.Serve(ln, mux); err != nil {
			log.Warn("pprof server stopped", "err", err)
		}
	}()
	log.Info("profiler listening", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
}
