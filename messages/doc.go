// Package messages holds the messages actors exchange, as plain immutable structs named by
// intent (commands imperative, events past tense, queries XxxRequest/XxxResponse). The pinset's
// data model (Op, HLC, version vectors, batches and their encoding) is package crdt.
package messages
