// Package wirepb holds the protobuf schemas of what pincluster peers exchange and persist, and
// the Go code protoc-gen-go generates from them (`make proto`; the generated files are
// committed, so building needs no protoc). Other packages convert between these types and
// their domain types at the edge; nothing outside the codecs should use them.
package wirepb
