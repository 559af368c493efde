// Package api holds pincluster's domain types (Pin, PinOptions, TrackerStatus, PinInfo,
// GlobalPinInfo, ID, Metric, Alert, AddedOutput) and their JSON forms, which follow IPFS
// Cluster's REST API field names so that its clients keep working.
//
// Decisions where IPFS Cluster is ambiguous or awkward:
//   - A CID is written in JSON as a plain string ("bafy..."). Decoding also accepts IPFS
//     Cluster's {"/": "bafy..."} form, so payloads produced by its tools are read correctly.
//   - Times are RFC3339 with nanoseconds; a zero expire_at is omitted (never expires).
//   - A pin's name is at most 255 bytes (as in the IPFS Pinning Service API) and its metadata
//     at most 64 keys of 1-255 bytes and 16 KiB in all, both valid UTF-8 (limits.go says why).
//     IPFS Cluster has no limits; every peer stores and gossips each pin, and the name is an
//     index key, so pincluster bounds them. PinOptions.ValidateLimits is the one check,
//     called wherever a pin enters.
//   - Replication factors follow one rule, CheckReplication (replication.go): each is -1
//     (every peer), 0 (unset: the cluster default) or positive, -1 does not mix with a
//     positive factor, and min <= max. The CLI, the REST API, the peer, the allocator and the
//     config defaults all call it, each naming the option as its user writes it.
//   - add accepts the hashes IPFS nodes store blocks of (SupportedHashes), not every multihash.
//
// This package imports no other project package.
package api
