package main

import (
	"strings"
	"testing"
	"time"
)

// Each bad command line is refused with one line saying what to change (main exits 2).
func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string // substring; empty means accepted
	}{
		{[]string{"-link", "50ms+-10ms,1%", "-tcp", "127.0.0.1:0", "-to", "127.0.0.1:9096"}, ""},
		{[]string{"-tcp", "0.0.0.0:9096", "-transparent"}, ""},
		{[]string{"-udp", "127.0.0.1:0", "-to", "127.0.0.1:4001", "-link", "5ms"}, ""},
		{[]string{}, "nothing to relay"},
		{[]string{"-tcp", ":1"}, "-tcp needs -to ADDR or -transparent"},
		{[]string{"-udp", ":1", "-transparent"}, "-udp needs -to"},
		{[]string{"-tcp", ":1", "-to", ":2", "-transparent"}, "exclude each other"},
		{[]string{"-tcp", ":1", "-to", ":2", "-link", "50ms,1"}, "loss must be a percentage"},
		{[]string{"-tcp", ":1", "-to", ":2", "-queue", "0"}, "-queue must be at least 1"},
		{[]string{"-tcp", ":1", "-to", ":2", "extra"}, `unexpected argument "extra"`},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
	} {
		o, err := parseFlags(tc.args)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one containing %q", tc.args, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("%q: the error is more than one line: %q", tc.args, err)
		}
		if tc.err == "" && len(tc.args) > 1 && tc.args[1] == "50ms+-10ms,1%" && (o.link.Delay != 50*time.Millisecond || o.link.Loss != 0.01) {
			t.Errorf("%q: link %+v", tc.args, o.link)
		}
	}
}
