package monitor

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestConfigsRejectUnknownKeys(t *testing.T) {
	mc, ic := Default(), DefaultInformerConfig()
	for _, tc := range []struct {
		v        any
		in, want string
	}{
		{&mc, `{"check_interval": "1s", "check_intervall": "2s"}`, `monitor: unknown key "check_intervall"`},
		{&ic, `{"tagz": {"region": "eu"}}`, `informer: unknown key "tagz"`},
	} {
		if err := json.Unmarshal([]byte(tc.in), tc.v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %s", tc.in, err, tc.want)
		}
	}
}
