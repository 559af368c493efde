package servicejson

import (
	"encoding/json"
	"testing"
)

// FuzzParseConfig: a service.json of any content yields a config or an error, never a panic,
// and a parsed config either validates or says which key is wrong.
func FuzzParseConfig(f *testing.F) {
	b, _ := (func() ([]byte, error) { c := Default(); return json.Marshal(c) })()
	f.Add(b)
	f.Add([]byte(`{"cluster": {"state_sync_interval": "5x"}}`))
	f.Add([]byte(`{"cluster": {"peername": 1}}`))
	f.Add([]byte(`{"pin_tracker": {"concurrent_pins": -1}, "bogus": {}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := cfg.Validate(); err != nil && err.Error() == "" {
			t.Fatal("empty validation message")
		}
	})
}
