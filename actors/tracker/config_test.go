package tracker

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConfigRejectsUnknownKeys(t *testing.T) {
	c := DefaultConfig()
	err := json.Unmarshal([]byte(`{"concurent_pins": 3}`), &c)
	if err == nil || !strings.Contains(err.Error(), `pin_tracker: unknown key "concurent_pins"`) {
		t.Fatalf("got %v", err)
	}
	if c != DefaultConfig() {
		t.Fatalf("a rejected file changed the config: %+v", c)
	}
}
