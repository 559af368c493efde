package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// raw-leaves unset takes Kubo's default (raw with CIDv1, asked for or implied by the hash);
// given, it wins, false included.
func TestAddParamsRawLeaves(t *testing.T) {
	tests := []struct {
		query   string
		set     bool
		useRaw  bool
		inQuery string // raw-leaves sent on by ToQuery ("" = absent)
	}{
		{"", false, false, ""},
		{"cid-version=1", false, true, ""},
		{"cid-version=1&raw-leaves=false", true, false, "false"},
		{"cid-version=1&raw-leaves=true", true, true, "true"},
		{"raw-leaves=true", true, true, "true"},
		{"raw-leaves=false", true, false, "false"},
		{"hash=sha3-256", false, true, ""},
		{"hash=SHA2-256", false, false, ""},
		{"hash=sha3-256&raw-leaves=false", true, false, "false"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			a, err := AddParamsFromQuery(q, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if a.RawLeavesSet != tt.set || a.UseRawLeaves() != tt.useRaw {
				t.Fatalf("set=%v use=%v, want %v %v", a.RawLeavesSet, a.UseRawLeaves(), tt.set, tt.useRaw)
			}
			back := a.ToQuery()
			if got := back.Get("raw-leaves"); got != tt.inQuery {
				t.Fatalf("ToQuery raw-leaves=%q, want %q", got, tt.inQuery)
			}
			again, err := AddParamsFromQuery(back, time.Now())
			if err != nil || again.UseRawLeaves() != tt.useRaw || again.RawLeavesSet != tt.set {
				t.Fatalf("round trip: %+v %v", again, err)
			}
		})
	}
}

func TestAddParamsCarWithWrapRefused(t *testing.T) {
	p := DefaultAddParams()
	p.Format, p.WrapWithDirectory = "car", true
	err := p.Validate()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "only a single CAR file can be added and wrap-with-directory is not supported") {
		t.Fatalf("Validate: %v", err)
	}
	q, _ := url.ParseQuery("format=car&wrap-with-directory=true")
	if _, err := AddParamsFromQuery(q, time.Now()); !errors.Is(err, ErrInvalid) {
		t.Fatalf("from query: %v", err)
	}
}
