package persistence

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// opMaker numbers import ops for origin like the pinset actor would.
func opMaker(t testing.TB, origin peer.ID, s *Store) func(api.Pin) crdt.Op {
	seq, _ := s.LastSeq(origin)
	clock, _ := s.MaxClock()
	return func(p api.Pin) crdt.Op {
		seq++
		clock++
		return pinOp(t, origin, seq, clock, p.Cid, p.Name)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	src, _ := openTemp(t)
	p := newPeer(t, 1)
	for i := 1; i <= 300; i++ {
		mustApply(t, src, pinOp(t, p, uint64(i), crdt.HLC(i), mkCid(t, i), fmt.Sprintf("n%d", i)))
	}
	mustApply(t, src, unpinOp(p, 301, 301, mkCid(t, 7)))
	var buf bytes.Buffer
	if err := src.Export(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(buf.String(), "\n")
	if !strings.HasPrefix(first, `{"pincluster_state":1,"pins":299,`) {
		t.Fatalf("header %s", first)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 300 {
		t.Fatalf("%d lines, want header + 299", lines)
	}
	dst, _ := openTemp(t)
	q := newPeer(t, 2)
	n, err := dst.Import(t.Context(), bytes.NewReader(buf.Bytes()), opMaker(t, q, dst))
	if err != nil || n != 299 {
		t.Fatalf("imported %d: %v", n, err)
	}
	var names []string
	dst.IteratePins(t.Context(), func(p api.Pin) error { names = append(names, p.Cid.String()+p.Name); return nil })
	var want []string
	src.IteratePins(t.Context(), func(p api.Pin) error { want = append(want, p.Cid.String()+p.Name); return nil })
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatal("imported pinset differs from the exported one")
	}
	if last, _ := dst.LastSeq(q); last != 299 {
		t.Fatalf("LastSeq=%d", last)
	}
}

func TestImportLegacyIPFSClusterFormat(t *testing.T) {
	s, _ := openTemp(t)
	c1, c2 := mkCid(t, 1), mkCid(t, 2)
	in := fmt.Sprintf(`{"cid":{"/":"%s"},"type":2,"allocations":[],"max_depth":-1,"reference":null,"replication_factor_min":-1,"replication_factor_max":-1,"name":"old","mode":"recursive","expire_at":"0001-01-01T00:00:00Z","metadata":null,"pin_update":null,"origins":[],"timestamp":"2023-01-01T00:00:00Z"}
{"cid":"%s","type":2,"allocations":null,"max_depth":0,"mode":"direct"}
`, c1, c2)
	n, err := s.Import(t.Context(), strings.NewReader(in), opMaker(t, newPeer(t, 1), s))
	if err != nil || n != 2 {
		t.Fatalf("imported %d: %v", n, err)
	}
	if p, ok, _ := s.GetPin(c1); !ok || p.Name != "old" {
		t.Fatalf("legacy pin: %+v %v", p, ok)
	}
}

func TestImportBadFilesImportNothing(t *testing.T) {
	c := mkCid(t, 1)
	good := fmt.Sprintf(`{"cid":"%s","name":"x"}`, c)
	hdr := `{"pincluster_state":1,"pins":3}`
	tests := []struct {
		name, in, wantMsg string
	}{
		{"empty file", "", "empty"},
		{"bad header json", "{nope\n" + good, "line 1"},
		{"header without version", `{"foo":1}` + "\n" + good, "pincluster_state"},
		{"future version", `{"pincluster_state":2}` + "\n" + good, "format 2"},
		{"bad JSON on line 3", hdr + "\n" + good + "\n{\"cid\":\n" + good, "line 3"},
		{"bad CID on line 2", hdr + "\n" + `{"cid":"notacid"}` + "\n" + good, "line 2"},
		{"missing CID on line 4", hdr + "\n" + good + "\n\n" + `{"name":"x"}`, "line 4"},
		{"two values on a line", hdr + "\n" + good + good, "line 2"},
		{"line not an object", hdr + "\n" + `[1,2]`, "line 2"},
		{"truncated file", hdr + "\n" + good + "\n", "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTemp(t)
			called := false
			n, err := s.Import(t.Context(), strings.NewReader(tc.in), func(p api.Pin) crdt.Op {
				called = true
				return pinOp(t, newPeer(t, 1), 1, 1, p.Cid, "")
			})
			if err == nil || !errors.Is(err, api.ErrInvalid) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err=%v, want ErrInvalid mentioning %q", err, tc.wantMsg)
			}
			if n != 0 || called {
				t.Fatal("a bad file imported something")
			}
			if cnt, _ := s.CountPins(); cnt != 0 {
				t.Fatalf("%d pins after a failed import", cnt)
			}
		})
	}
}

func FuzzImport(f *testing.F) {
	c := mkCid(f, 1)
	f.Add(fmt.Sprintf("{\"pincluster_state\":1}\n{\"cid\":\"%s\",\"name\":\"x\",\"metadata\":{\"a\":\"b\"}}\n", c))
	f.Add(fmt.Sprintf("{\"cid\":{\"/\":\"%s\"},\"type\":2}\n", c))
	f.Add("{\"pincluster_state\":1}\n{\"cid\":\"\"}\n")
	f.Add("")
	f.Add("\n\n{}")
	f.Add(fmt.Sprintf("{\"pincluster_state\":1}\n{\"cid\":\"%s\",\"metadata\":{\"\":\"v\"}}\n", c))
	s, err := Open(Options{InMemory: true})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	origin := newPeer(f, 1)
	seq := uint64(0)
	f.Fuzz(func(t *testing.T, in string) {
		before, _ := s.CountPins()
		n, err := s.Import(t.Context(), strings.NewReader(in), func(p api.Pin) crdt.Op {
			if !p.Cid.Defined() {
				t.Fatal("mkOp called with a pin without CID")
			}
			seq++
			return pinOp(t, origin, seq, crdt.HLC(seq), p.Cid, p.Name)
		})
		after, _ := s.CountPins()
		if err != nil && (n != 0 || after != before) {
			t.Fatalf("failed import changed the store: n=%d count %d->%d", n, before, after)
		}
	})
}
