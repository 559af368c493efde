package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestCheckReplication is the table of the one rule on replication factors.
func TestCheckReplication(t *testing.T) {
	n := FactorNames{Min: "MIN", Max: "MAX"}
	for _, tc := range []struct {
		mn, mx int
		want   string // "" = valid, else a part of the message
	}{
		{0, 0, ""},
		{-1, -1, ""},
		{1, 1, ""},
		{1, 3, ""},
		{2, 0, ""},  // max unset: the default fills it
		{0, 2, ""},  // min unset
		{-1, 0, ""}, // only one given as every peer
		{0, -1, ""},
		{3, 2, "MIN (3) is greater than MAX (2)"},
		{-2, 1, "MIN (-2) must be -1 (every peer) or positive"},
		{1, -5, "MAX (-5) must be -1 (every peer) or positive"},
		{-1, 2, "MIN and MAX must both be -1 (every peer) or both positive, got -1 and 2"},
		{2, -1, "MIN and MAX must both be -1 (every peer) or both positive, got 2 and -1"},
	} {
		err := CheckReplication(tc.mn, tc.mx, n)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("min=%d max=%d: want valid, got %v", tc.mn, tc.mx, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("min=%d max=%d: want %q, got %v", tc.mn, tc.mx, tc.want, err)
		}
	}
}

// TestReplicationEdges checks that each entry point applies the rule with its own names and
// wraps ErrInvalid.
func TestReplicationEdges(t *testing.T) {
	err := PinOptions{ReplicationFactorMin: 3, ReplicationFactorMax: 2}.Validate()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "replication_factor_min (3) is greater than replication_factor_max (2)") {
		t.Errorf("Validate: %v", err)
	}
	_, err = PinOptionsFromQuery(url.Values{"replication-min": {"-1"}, "replication-max": {"4"}}, time.Now())
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "replication-min and replication-max must both be -1") {
		t.Errorf("PinOptionsFromQuery: %v", err)
	}
	if err := (PinOptions{ReplicationFactorMin: 2, ReplicationFactorMax: 3}).Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

// TestApplyDefaultsKeepsValid: options and defaults that pass the rule still pass it after
// ApplyDefaults, except -1 given against positive defaults (or the reverse).
func TestApplyDefaultsKeepsValid(t *testing.T) {
	vals := []int{-1, 0, 1, 2, 3}
	for _, dmn := range vals {
		for _, dmx := range vals {
			if dmn == 0 || dmx == 0 || CheckReplication(dmn, dmx, FactorKeys) != nil {
				continue
			}
			for _, mn := range vals {
				for _, mx := range vals {
					if CheckReplication(mn, mx, FactorKeys) != nil {
						continue
					}
					o := PinOptions{ReplicationFactorMin: mn, ReplicationFactorMax: mx}
					o.ApplyDefaults(dmn, dmx)
					if o.ReplicationFactorMin == 0 || o.ReplicationFactorMax == 0 {
						t.Errorf("(%d,%d) with defaults (%d,%d): left unset: %+v", mn, mx, dmn, dmx, o)
					}
					mixed := (mn == -1 || mx == -1) != (dmn == -1)
					if err := o.Validate(); err != nil && !mixed {
						t.Errorf("(%d,%d) with defaults (%d,%d): %v", mn, mx, dmn, dmx, err)
					}
				}
			}
		}
	}
}
