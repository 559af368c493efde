package remote

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"

	"github.com/pincluster/pincluster/api"
)

// Codec is the wire form of one message type that crosses peers. Name and Version identify it on
// the wire; New returns a fresh value of the Go type actors send (normally a pointer, *T), which
// Unmarshal fills. Marshal and Unmarshal must be safe for concurrent use, and Unmarshal must
// treat its input as hostile (return an error, never panic; a panic is recovered and reported).
type Codec struct {
	Name    string
	Version uint32
	New     func() any
	Marshal func(any) ([]byte, error)
	// Unmarshal decodes data into v, a value returned by New.
	Unmarshal func(data []byte, v any) error
	// ReceiveOnly codecs decode inbound messages but are never chosen to send, so a type can
	// have a second wire form: during a rolling upgrade a peer reads the form newer peers will
	// send while it still sends the form older peers read. Each Go type has one codec that
	// sends.
	ReceiveOnly bool
}

// JSONCodec is a Codec whose payload is the JSON form of T. Actors send and receive *T.
func JSONCodec[T any](name string, version uint32) Codec {
	return Codec{
		Name:    name,
		Version: version,
		New:     func() any { return new(T) },
		Marshal: func(v any) ([]byte, error) {
			p, ok := v.(*T)
			if !ok {
				return nil, fmt.Errorf("codec %s/%d: got %T, want %T", name, version, v, p)
			}
			return json.Marshal(p)
		},
		Unmarshal: func(data []byte, v any) error {
			p, ok := v.(*T)
			if !ok {
				return fmt.Errorf("codec %s/%d: got %T, want %T", name, version, v, p)
			}
			return json.Unmarshal(data, p)
		},
	}
}

type codecKey struct {
	name    string
	version uint32
}

// Registry maps message types to their codecs. Register every type before the Remote carries
// it; a Registry is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	byName map[codecKey]*Codec
	byType map[reflect.Type]*Codec
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[codecKey]*Codec{}, byType: map[reflect.Type]*Codec{}}
}

// Register adds a codec. Each (Name, Version) may be registered once, and each Go type once
// apart from ReceiveOnly codecs.
func (r *Registry) Register(c Codec) error {
	if c.Name == "" || c.New == nil || c.Marshal == nil || c.Unmarshal == nil {
		return fmt.Errorf("%w: remote codec %q needs a Name, New, Marshal and Unmarshal", api.ErrInvalid, c.Name)
	}
	t := reflect.TypeOf(c.New())
	if t == nil {
		return fmt.Errorf("%w: remote codec %s/%d: New returned nil", api.ErrInvalid, c.Name, c.Version)
	}
	k := codecKey{c.Name, c.Version}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byName[k]; dup {
		return fmt.Errorf("%w: remote codec %s/%d is already registered", api.ErrInvalid, c.Name, c.Version)
	}
	if prev, dup := r.byType[t]; dup && !c.ReceiveOnly {
		return fmt.Errorf("%w: remote codec %s/%d: type %v is already registered as %s/%d",
			api.ErrInvalid, c.Name, c.Version, t, prev.Name, prev.Version)
	}
	cc := c
	r.byName[k] = &cc
	if !c.ReceiveOnly {
		r.byType[t] = &cc
	}
	return nil
}

// forValue returns the codec of the message's Go type.
func (r *Registry) forValue(msg any) (*Codec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.byType[reflect.TypeOf(msg)]
	return c, ok
}

// forName returns the codec registered under name and version.
func (r *Registry) forName(name string, version uint32) (*Codec, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.byName[codecKey{name, version}]
	return c, ok
}

// decode unmarshals a payload with its codec, turning a panicking codec into an error.
func (c *Codec) decode(payload []byte) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("codec %s/%d panicked: %v", c.Name, c.Version, p)
		}
	}()
	v = c.New()
	if err := c.Unmarshal(payload, v); err != nil {
		return nil, err
	}
	return v, nil
}

// encode marshals a message with its codec, turning a panicking codec into an error.
func (c *Codec) encode(msg any) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("codec %s/%d panicked: %v", c.Name, c.Version, p)
		}
	}()
	return c.Marshal(msg)
}
