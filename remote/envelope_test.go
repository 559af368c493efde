package remote

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/pincluster/pincluster/api"
)

func sampleEnvelopes() []*envelope {
	return []*envelope{
		{Target: "echo", TypeName: "test.ping", TypeVersion: 1, Payload: []byte(`{"Text":"hi"}`)},
		{Target: "echo", SenderAddress: "12D3KooWEEzKg6R9GUThfpkChE15fQFMYAF1RKoAvfMcdDAkGEpQ", SenderID: "future$1",
			SenderRequestID: 7, TargetRequestID: 1<<32 - 1, TypeName: "test.ping", TypeVersion: 3, Payload: []byte{0, 1, 2}},
		{Target: "future$9", ErrorCode: CodeNotFound, ErrorMessage: "no actor named x"},
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, e := range sampleEnvelopes() {
		br := bufio.NewReader(bytes.NewReader(e.frame()))
		b, err := readFrame(br, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeEnvelope(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("round trip: got %+v, want %+v", got, e)
		}
		if _, err := readFrame(br, 1<<20); err != io.EOF {
			t.Fatalf("after the last frame: err = %v, want io.EOF", err)
		}
	}
}

// Field numbers and wire types of envelope.proto, to build hostile encodings by hand.
const (
	envFieldTarget        = 1
	envFieldSenderID      = 3
	envFieldTypeName      = 6
	envFieldTypeVersion   = 7
	wireVarint, wireBytes = 0, 2
)

func tag(b []byte, num, typ uint64) []byte { return binary.AppendUvarint(b, num<<3|typ) }

func str(num uint64, s string) []byte {
	b := binary.AppendUvarint(tag(nil, num, wireBytes), uint64(len(s)))
	return append(b, s...)
}

func TestDecodeEnvelopeRejects(t *testing.T) {
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"no target", str(envFieldTypeName, "t")},
		{"no type and no error", str(envFieldTarget, "a")},
		{"sender id without address", cat(str(envFieldTarget, "a"), str(envFieldTypeName, "t"), str(envFieldSenderID, "s"))},
		{"wrong wire type", cat(str(envFieldTarget, "a"), str(envFieldTypeVersion, "x"))},
		{"uint32 overflow", cat(str(envFieldTarget, "a"), str(envFieldTypeName, "t"),
			binary.AppendUvarint(tag(nil, envFieldTypeVersion, wireVarint), 1<<32))},
		{"truncated bytes", cat(tag(nil, envFieldTarget, wireBytes), []byte{5, 'a'})},
		{"bad tag", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeEnvelope(tc.in); !errors.Is(err, ErrBadEnvelope) || !errors.Is(err, api.ErrInvalid) {
				t.Fatalf("err = %v, want ErrBadEnvelope", err)
			}
		})
	}
	// Unknown fields are skipped.
	in := cat(str(envFieldTarget, "a"), str(envFieldTypeName, "t"), str(99, "future"))
	if _, err := decodeEnvelope(in); err != nil {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestReadFrameLimits(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		is   error
	}{
		{"oversize", binary.AppendUvarint(nil, 1025), api.ErrTooLarge},
		{"huge varint", binary.AppendUvarint(nil, 1<<63), api.ErrTooLarge},
		{"varint overflow", bytes.Repeat([]byte{0xff}, 11), ErrBadEnvelope},
		{"empty frame", []byte{0}, ErrBadEnvelope},
		{"cut short", append(binary.AppendUvarint(nil, 10), 1, 2), io.ErrUnexpectedEOF},
		{"cut in length", []byte{0x80}, io.ErrUnexpectedEOF}, // the stream ended: not a bad envelope
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readFrame(bufio.NewReader(bytes.NewReader(tc.in)), 1024)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
		})
	}
}

// FuzzDecodeEnvelope feeds hostile stream bytes to the frame reader and envelope decoder: they
// must never panic, never return a frame over the limit, and what decodes must re-encode to
// an envelope that decodes the same.
func FuzzDecodeEnvelope(f *testing.F) {
	for _, e := range sampleEnvelopes() {
		f.Add(e.frame())
		f.Add(e.marshal())
	}
	f.Add(binary.AppendUvarint(nil, 1<<40))
	f.Add([]byte{0x80, 0x80, 0x80})
	const max = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(b []byte) {
			e, err := decodeEnvelope(b)
			if err != nil {
				return
			}
			again, err := decodeEnvelope(e.marshal())
			if err != nil {
				t.Fatalf("re-encoded envelope does not decode: %v", err)
			}
			if !reflect.DeepEqual(normalize(again), normalize(e)) {
				t.Fatalf("re-encoding changed the envelope: %+v != %+v", again, e)
			}
		}
		check(data)
		br := bufio.NewReader(bytes.NewReader(data))
		for {
			b, err := readFrame(br, max)
			if err != nil {
				return
			}
			if len(b) > max || len(b) == 0 {
				t.Fatalf("frame of %d bytes passed a limit of %d", len(b), max)
			}
			check(b)
		}
	})
}

// normalize makes an empty payload compare equal to a missing one.
func normalize(e *envelope) envelope {
	c := *e
	if len(c.Payload) == 0 {
		c.Payload = nil
	}
	return c
}
