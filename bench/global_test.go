package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// countingWriter counts the pinned parts and lines of a stream however it is cut.
func TestCountingWriter(t *testing.T) {
	var doc bytes.Buffer
	want := 0
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		doc.WriteString(`{"cid":"x","name":"pinned","peer_map":{`) // "pinned" not a status: not counted
		for range r.IntN(4) {
			doc.WriteString(`"p":{"status":"pinned"},`)
			want++
		}
		doc.WriteString(`"q":{"status":"pinning"}}}` + "\n")
	}
	for _, maxCut := range []int{1, 3, 16, 17, 100, doc.Len()} {
		var w countingWriter
		for b := doc.Bytes(); len(b) > 0; {
			n := min(len(b), 1+r.IntN(maxCut))
			w.Write(b[:n])
			b = b[n:]
		}
		if w.pinned != want || w.lines != 200 || w.n != doc.Len() {
			t.Fatalf("cuts up to %d bytes: %d pinned, %d lines, %d bytes; want %d, 200, %d", maxCut, w.pinned, w.lines, w.n, want, doc.Len())
		}
	}
	// The CLI's text: a line per peer, "peer : STATUS | ...".
	text := "bafy... | PINNED:\n    > p1 : PINNED | 2026-12-05T14:13:09Z | Attempts: 0\n    > p2 : PINNING | x\n    > p3 : PINNED\n"
	w := countingWriter{text: true}
	for i := range len(text) { // a byte a write
		w.Write([]byte{text[i]})
	}
	if w.pinned != 2 {
		t.Fatalf("text: %d PINNED parts, want 2", w.pinned)
	}
}

// TestCountLines counts the lines holding a text, however long the lines around them.
func TestCountLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.log")
	log := "a " + droppedDigest + "\n" + strings.Repeat("x", 200<<10) + "\nb\n" + droppedDigest + " c"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := countLines(path, droppedDigest); n != 2 || err != nil {
		t.Fatalf("%d lines, %v; want 2", n, err)
	}
}
