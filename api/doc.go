// Package api holds pincluster's domain types (Pin, PinOptions, TrackerStatus, PinInfo,
// GlobalPinInfo, ID, Metric, Alert, AddedOutput) and their JSON forms, which follow IPFS
// Cluster's REST API field names so that its clients keep working.
//
// Decisions where IPFS Cluster is ambiguous or awkward:
//   - A CID is written in JSON as a plain string ("bafy..."). Decoding also accepts IPFS
//     Cluster's {"/": "bafy..."} form, so payloads produced by its tools are read correctly.
//   - Times are RFC3339 with nanoseconds; a zero expire_at is omitted (never expires).
//
// This package imports no other project package.
package api
