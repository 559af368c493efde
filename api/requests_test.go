package api

import (
	"maps"
	"testing"
)

func TestKeepRequests(t *testing.T) {
	const r1, r2 = RequestMetaPrefix + "aa", RequestMetaPrefix + "bb"
	tests := []struct {
		name          string
		stored, in    map[string]string
		want          map[string]string
		wantSameAsIn  bool
		wantNilResult bool
	}{
		{name: "no requests anywhere", stored: map[string]string{"a": "1"}, in: map[string]string{"b": "2"}, want: map[string]string{"b": "2"}, wantSameAsIn: true},
		{name: "nil in, none stored", stored: nil, in: nil, wantNilResult: true},
		{name: "stored requests kept, not the marker", stored: map[string]string{r1: "x", RequestMarkerKey: "1", "a": "1"}, in: map[string]string{"b": "2"},
			want: map[string]string{r1: "x", "b": "2"}},
		{name: "marker alone", stored: map[string]string{RequestMarkerKey: "1"}, in: nil, want: map[string]string{}},
		{name: "nil in keeps requests", stored: map[string]string{r1: "x"}, in: nil, want: map[string]string{r1: "x"}},
		{name: "given requests dropped", stored: map[string]string{r1: "x"}, in: map[string]string{r2: "y", RequestMarkerKey: "1", "b": "2"},
			want: map[string]string{r1: "x", "b": "2"}},
		{name: "only given requests", stored: nil, in: map[string]string{r2: "y"}, want: map[string]string{}},
		{name: "prefix alone is no request", stored: map[string]string{RequestMetaPrefix: "p"}, in: map[string]string{"b": "2"}, want: map[string]string{"b": "2"}, wantSameAsIn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.stored)
			inBefore := maps.Clone(tt.in)
			got := KeepRequests(tt.stored, tt.in)
			if tt.wantNilResult {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if tt.wantSameAsIn && len(got) > 0 {
				got["probe"] = "p"
				if tt.in["probe"] != "p" {
					t.Fatal("want the input map itself when neither holds a request")
				}
				delete(got, "probe")
			}
			if !maps.Equal(tt.stored, before) || !maps.Equal(tt.in, inBefore) {
				t.Fatal("an argument was changed")
			}
		})
	}
}
