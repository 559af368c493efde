// Package allocator decides which peers hold a pin (the allocation process).
//
// The decision is the pure function Allocate: it keeps existing allocations while at least
// replication_factor_min of them are alive, prefers local (add --local) and user allocations,
// and ranks the other candidates by allocate_by: "tag:NAME" metrics split peers into buckets
// (nested in allocate_by order) and picks spread across buckets; numeric metrics (freespace,
// pinqueue, numpin) order peers by Weight, higher first. The allocator actor wraps it so the
// peer can call it through a facade; it holds no metrics itself: the caller passes the valid
// metrics from the monitor.
//
// # Usage
//
//	al, err := allocator.Spawn(system, allocator.Default(), logger)
//	metrics, _ := mon.LatestAll(ctx)
//	peers, err := al.Allocate(ctx, allocator.Request{Cid: c, Min: 2, Max: 3, Candidates: metrics})
//	// automatic repinning: only when allocator.UnderReplicated(cfg, pin.Min, pin.Allocations, metrics)
package allocator
