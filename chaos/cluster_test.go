package main

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pincluster/pincluster/config"
	"github.com/pincluster/pincluster/internal/faults"
)

// A partition blocks both sides: the cut-off peer refuses every other, and every other
// refuses it; a peer's own faults stay its own.
func TestFaultFilesOfAPartition(t *testing.T) {
	dir := t.TempDir()
	c := &cluster{faults: make([]faults.Config, 4), partitioned: map[int]bool{}}
	for i, id := range []string{"A", "B", "C"} {
		c.nodes = append(c.nodes, &node{i: i + 1, id: id, faultsPath: filepath.Join(dir, id+".json")})
	}
	read := func(i int) faults.Config {
		t.Helper()
		cfg, err := faults.Load(c.node(i).faultsPath)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	if err := c.setFault(1, func(f *faults.Config) { f.DiskFull = true }); err != nil {
		t.Fatal(err)
	}
	if err := c.setPartitioned(2, true); err != nil {
		t.Fatal(err)
	}
	want := map[int]faults.Config{
		1: {BlockPeers: []string{"B"}, DiskFull: true},
		2: {BlockPeers: []string{"A", "C"}},
		3: {BlockPeers: []string{"B"}},
	}
	for i, w := range want {
		if got := read(i); !reflect.DeepEqual(got, w) {
			t.Errorf("partitioned p2: p%d faults = %+v, want %+v", i, got, w)
		}
	}
	if err := c.setPartitioned(2, false); err != nil {
		t.Fatal(err)
	}
	if got := read(3); len(got.BlockPeers) != 0 {
		t.Errorf("healed: p3 still blocks %v", got.BlockPeers)
	}
	if err := c.setFault(3, func(f *faults.Config) { f.ClockSkew = config.Duration(5) }); err != nil {
		t.Fatal(err)
	}
	if err := c.healAll(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if got := read(i); !reflect.DeepEqual(got, faults.Config{}) {
			t.Errorf("after healAll: p%d faults = %+v", i, got)
		}
	}
}
