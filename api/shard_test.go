package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAddParamsShard(t *testing.T) {
	cases := []struct {
		q    string
		ok   bool
		want string // in the error
	}{
		{"shard=true", true, ""},
		{"shard=true&shard-size=262144", true, ""},
		{"shard=true&shard-size=1000", false, "smaller than one chunk"},
		{"shard=true&shard-size=1000&chunker=size-512", true, ""},
		{"shard=true&shard-size=300000&chunker=rabin", false, "393216"},
		{"shard=true&shard-size=x", false, "shard-size"},
		{"shard=true&local=true", false, "local"},
		{"shard=true&no-pin=true", false, "no-pin"},
		{"shard=true&mode=direct", false, "recursive"},
		{"shard-size=5", true, ""}, // ignored without shard
	}
	for _, c := range cases {
		q, _ := url.ParseQuery(c.q)
		a, err := AddParamsFromQuery(q, time.Now())
		if c.ok != (err == nil) {
			t.Fatalf("%s: err = %v, want ok=%v", c.q, err, c.ok)
		}
		if err != nil && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want)) {
			t.Fatalf("%s: err = %v, want ErrInvalid mentioning %q", c.q, err, c.want)
		}
		if err == nil && a.Shard {
			back, err := AddParamsFromQuery(a.ToQuery(), time.Now())
			if err != nil || back.ShardSize != a.ShardSize || !back.Shard {
				t.Fatalf("%s: round trip %+v, %v", c.q, back, err)
			}
		}
	}
}

func TestParsePinTypes(t *testing.T) {
	set, err := ParsePinTypes("")
	if err != nil || !set[PinTypeData] || len(set) != 1 {
		t.Fatalf(`"" = %v, %v; want pin only`, set, err)
	}
	set, err = ParsePinTypes("meta-pin, shard")
	if err != nil || !set[PinTypeMeta] || !set[PinTypeShard] || set[PinTypeData] {
		t.Fatalf("meta-pin,shard = %v, %v", set, err)
	}
	set, err = ParsePinTypes("all")
	if err != nil || len(set) != len(PinTypes) {
		t.Fatalf("all = %v, %v", set, err)
	}
	if _, err := ParsePinTypes("pin,bogus"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bogus: err = %v", err)
	}
}
