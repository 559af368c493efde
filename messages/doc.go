// Package messages holds the messages actors exchange, as plain immutable structs named by
// intent (commands imperative, events past tense, queries XxxRequest/XxxResponse), and the
// codec of the pinset Op and Batch, whose wire/storage schema is internal/wirepb/op.proto
// (converted at the edge in op_codec.go and batch_codec.go; golden bytes in testdata/golden).
package messages
