package remote

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// ProtoCodec is a Codec whose payload is a protobuf message W (a generated type, from a
// .proto schema), converted at the edge to and from T, the plain struct actors send and
// receive as *T. toWire must not fail (every T has a wire form); fromWire receives hostile
// input already parsed by proto and returns an error for values T cannot hold. Encoding is
// deterministic (map entries sorted), so equal values give equal bytes.
func ProtoCodec[T any, W proto.Message](name string, version uint32, newWire func() W, toWire func(*T) W, fromWire func(W, *T) error) Codec {
	opts := proto.MarshalOptions{Deterministic: true}
	return Codec{
		Name:    name,
		Version: version,
		New:     func() any { return new(T) },
		Marshal: func(v any) ([]byte, error) {
			p, ok := v.(*T)
			if !ok {
				return nil, fmt.Errorf("codec %s/%d: got %T, want %T", name, version, v, p)
			}
			return opts.Marshal(toWire(p))
		},
		Unmarshal: func(data []byte, v any) error {
			p, ok := v.(*T)
			if !ok {
				return fmt.Errorf("codec %s/%d: got %T, want %T", name, version, v, p)
			}
			w := newWire()
			if err := proto.Unmarshal(data, w); err != nil {
				return err
			}
			return fromWire(w, p)
		},
	}
}
