package api

import (
	"encoding/json"
	"testing"
)

// The Done event carries every count, zeros too; the others leave zero fields out.
func TestBatchEventJSON(t *testing.T) {
	b, err := json.Marshal(BatchEvent{Done: true, Failed: 1, Through: 1})
	if err != nil || string(b) != `{"ok":0,"through":1,"done":true,"failed":1,"unchanged":0}` {
		t.Fatalf("done event: %s, %v", b, err)
	}
	if b, _ = json.Marshal(BatchEvent{OK: 5, Through: 5}); string(b) != `{"ok":5,"through":5}` {
		t.Fatalf("progress event: %s", b)
	}
	var back BatchEvent
	if err := json.Unmarshal([]byte(`{"ok":0,"through":1,"done":true,"failed":1,"unchanged":0}`), &back); err != nil || !back.Done || back.Failed != 1 {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}
