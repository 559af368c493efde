package allocator

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConfigRejectsUnknownKeys(t *testing.T) {
	c := Default()
	err := json.Unmarshal([]byte(`{"allocate_by": ["freespace"], "allocateby": ["numpin"]}`), &c)
	if err == nil || !strings.Contains(err.Error(), `allocator: unknown key "allocateby"`) {
		t.Fatalf("got %v, want allocator: unknown key \"allocateby\"", err)
	}
}
