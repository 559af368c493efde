package remote

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/pincluster/pincluster/api"
)

// pingProto is ping's protobuf form (a well-known wrapper stands in for a generated schema).
var pingProto = ProtoCodec[ping]("test.ping", 2, func() *wrapperspb.StringValue { return new(wrapperspb.StringValue) },
	func(p *ping) *wrapperspb.StringValue { return wrapperspb.String(p.Text) },
	func(w *wrapperspb.StringValue, p *ping) error {
		if w.Value == "bad" {
			return api.ErrInvalid
		}
		p.Text = w.Value
		return nil
	})

func TestProtoCodecRoundTrip(t *testing.T) {
	in := &ping{Text: "héllo"}
	b, err := pingProto.encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pingProto.decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("got %+v want %+v", out, in)
	}
	if _, err := pingProto.decode([]byte{0xff}); err == nil {
		t.Fatal("garbage decoded")
	}
	bad, _ := pingProto.encode(&ping{Text: "bad"})
	if _, err := pingProto.decode(bad); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("fromWire's error lost: %v", err)
	}
	if _, err := pingProto.encode(&pong{}); err == nil {
		t.Fatal("wrong type encoded")
	}
}

// A receive-only second form of a type is decoded by name but never chosen to send, and a
// second sending form is still refused.
func TestRegistryReceiveOnly(t *testing.T) {
	recv := pingProto
	recv.ReceiveOnly = true
	reg := testRegistry(t, recv)
	if c, ok := reg.forValue(&ping{}); !ok || c.Version != 1 {
		t.Fatalf("forValue(*ping) = %+v, %v; want the JSON form, version 1", c, ok)
	}
	if c, ok := reg.forName("test.ping", 2); !ok || !c.ReceiveOnly {
		t.Fatalf("forName(test.ping, 2) = %+v, %v", c, ok)
	}
	send := pingProto
	send.Version = 3
	if err := reg.Register(send); !errors.Is(err, api.ErrInvalid) {
		t.Fatalf("a second sending codec of *ping was accepted: %v", err)
	}
}

// A peer that sends the protobuf form is understood by one that only receives it.
func TestProtoCodecAcrossPeers(t *testing.T) {
	recv := pingProto
	recv.ReceiveOnly = true
	sendReg := NewRegistry()
	for _, c := range []Codec{pingProto, JSONCodec[pong]("test.pong", 1), blobCodec} {
		if err := sendReg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	a := newTestPeer(t, Config{}, sendReg)
	b := newTestPeer(t, Config{}, testRegistry(t, recv))
	connect(t, a, b)
	spawnEcho(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, err := a.r.Request(ctx, a.r.PID(b.h.ID(), "echo"), &ping{Text: "over protobuf"})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := reply.(*pong); !ok || p.Text != "over protobuf" {
		t.Fatalf("reply %#v", reply)
	}
}
