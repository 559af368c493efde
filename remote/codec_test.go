package remote

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
)

func TestRegistryRegister(t *testing.T) {
	type other struct{ A int }
	cases := []struct {
		name    string
		codec   Codec
		contain string
	}{
		{"duplicate name and version", JSONCodec[other]("test.ping", 1), "already registered"},
		{"duplicate type", JSONCodec[ping]("test.ping2", 1), "already registered as test.ping/1"},
		{"no name", JSONCodec[other]("", 1), "needs a Name"},
		{"no unmarshal", Codec{Name: "x", New: func() any { return new(other) }, Marshal: blobCodec.Marshal}, "needs a Name, New, Marshal and Unmarshal"},
		{"nil New", Codec{Name: "x", New: func() any { return nil }, Marshal: blobCodec.Marshal, Unmarshal: blobCodec.Unmarshal}, "New returned nil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := testRegistry(t)
			err := reg.Register(tc.codec)
			if !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tc.contain) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tc.contain)
			}
		})
	}
	// A new version of a name is a new type.
	reg := testRegistry(t)
	if err := reg.Register(JSONCodec[other]("test.ping", 2)); err != nil {
		t.Fatal(err)
	}
	if c, ok := reg.forValue(&other{}); !ok || c.Version != 2 {
		t.Fatalf("forValue(*other) = %+v, %v", c, ok)
	}
}

func TestCodecDecodeRecoversPanic(t *testing.T) {
	c := Codec{Name: "boom", Version: 1, New: func() any { return new(blob) },
		Marshal:   func(any) ([]byte, error) { panic("marshal") },
		Unmarshal: func([]byte, any) error { panic("unmarshal") }}
	if _, err := c.decode([]byte("x")); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("decode: err = %v", err)
	}
	if _, err := c.encode(&blob{}); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("encode: err = %v", err)
	}
	if _, err := JSONCodec[ping]("p", 1).Marshal(ping{}); err == nil {
		t.Fatal("JSONCodec accepted a value instead of a pointer")
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg     Config
		contain string
	}{
		{Config{}, ""},
		{Default(), ""},
		{Config{RequestTimeout: -time.Second}, "request_timeout"},
		{Config{DialTimeout: -1}, "dial_timeout"},
		{Config{MaxMessageSize: -1}, "max_message_size"},
	}
	for _, tc := range cases {
		err := tc.cfg.Validate()
		if tc.contain == "" && err != nil || tc.contain != "" && (err == nil || !strings.Contains(err.Error(), tc.contain)) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.contain)
		}
	}
	if d, w := (Config{}).withDefaults(), Default(); d.RequestTimeout != w.RequestTimeout || d.DialTimeout != w.DialTimeout || d.MaxMessageSize != w.MaxMessageSize || d.Authorize != nil {
		t.Errorf("zero config defaults to %+v, want %+v", d, Default())
	}
}
