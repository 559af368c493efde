package crdt

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fieldTable is what checkFields needs of a message's schema, indexed by field number, built
// once from the generated descriptor (descriptor lookups per field cost more than the walk).
type fieldTable struct {
	name   string
	fields [64]wireField // op.proto numbers stay below 64; higher ones are unknown
}

type wireField struct {
	known    bool
	repeated bool
	typ      protowire.Type
	name     string
	msg      *fieldTable // embedded message, checked too
}

func newFieldTable(md protoreflect.MessageDescriptor) *fieldTable {
	t := &fieldTable{name: string(md.Name())}
	fds := md.Fields()
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		if fd.Number() >= 64 {
			panic(fmt.Sprintf("messages: %s.%s: field numbers of op.proto must stay below 64", md.Name(), fd.Name()))
		}
		f := wireField{known: true, repeated: fd.Cardinality() == protoreflect.Repeated, typ: wireTypeOf(fd.Kind()), name: string(fd.Name())}
		if fd.Kind() == protoreflect.MessageKind {
			f.msg = newFieldTable(fd.Message())
		}
		t.fields[fd.Number()] = f
	}
	return t
}

// checkFields walks an encoded message before the generated decoder reads it, and refuses
// what proto would accept but this schema rules out, as the earlier hand-written decoder did:
// groups, a known field with the wrong wire type (proto would keep it as unknown and read the
// field as absent) and a singular field given twice (proto keeps the last, so a bad origin
// or CID could hide behind a good one). Embedded messages are checked too; fields of later
// versions pass. It allocates nothing.
func checkFields(data []byte, t *fieldTable) error {
	var seen uint64 // singular fields met so far, by number
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return fmt.Errorf("%w: bad field tag: %v", ErrBadOp, protowire.ParseError(n))
		}
		if num > protowire.MaxValidNumber { // ConsumeTag takes up to MaxInt32; proto refuses them
			return fmt.Errorf("%w: field number %d is out of range", ErrBadOp, num)
		}
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			return fmt.Errorf("%w: field %d has unsupported wire type %d", ErrBadOp, num, typ)
		}
		m := protowire.ConsumeFieldValue(num, typ, data[n:])
		if m < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrBadOp, num, protowire.ParseError(m))
		}
		value := data[n : n+m]
		data = data[n+m:]
		if num >= 64 || !t.fields[num].known {
			continue
		}
		f := &t.fields[num]
		if typ != f.typ {
			return fmt.Errorf("%w: %s.%s has the wrong wire type", ErrBadOp, t.name, f.name)
		}
		if !f.repeated {
			if seen&(1<<num) != 0 {
				return fmt.Errorf("%w: %s.%s appears twice", ErrBadOp, t.name, f.name)
			}
			seen |= 1 << num
		}
		if f.msg != nil {
			inner, _ := protowire.ConsumeBytes(value)
			if err := checkFields(inner, f.msg); err != nil {
				return err
			}
		}
	}
	return nil
}

// wireTypeOf is the wire type of a field kind.
func wireTypeOf(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.BytesKind, protoreflect.StringKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	default:
		return protowire.VarintType
	}
}
