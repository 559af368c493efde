package rest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAuthConfigValidate(t *testing.T) {
	creds := map[string]string{"alice": "a", "bob": "b"}
	tests := []struct {
		name string
		mut  func(*Config)
		want string // "" = valid
	}{
		{"permissions", func(c *Config) { c.BasicAuthPermissions = map[string][]string{"bob": {"read", "pin"}} }, ""},
		{"unknown user", func(c *Config) { c.BasicAuthPermissions = map[string][]string{"carol": {"read"}} },
			`api.restapi.basic_auth_permissions: user "carol" is not in basic_auth_credentials (known: alice, bob)`},
		{"unknown permission", func(c *Config) { c.BasicAuthPermissions = map[string][]string{"bob": {"write"}} },
			`api.restapi.basic_auth_permissions: user "bob": unknown permission "write" (use read, pin or admin)`},
		{"empty list", func(c *Config) { c.BasicAuthPermissions = map[string][]string{"bob": {}} }, "api.restapi.basic_auth_permissions: user \"bob\" has an empty list"},
		{"zero ttl", func(c *Config) { c.TokenTTL = 0 }, "api.restapi.token_ttl: must be positive"},
		{"max below ttl", func(c *Config) { c.TokenMaxTTL = time.Hour }, "api.restapi.token_max_ttl: 1h0m0s is less than token_ttl (24h0m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.BasicAuthCredentials = creds
			tt.mut(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestAuthConfigJSON(t *testing.T) {
	c := DefaultConfig()
	c.BasicAuthCredentials = map[string]string{"u": "p"}
	c.BasicAuthPermissions = map[string][]string{"u": {"read"}}
	c.TokenTTL = time.Hour
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"basic_auth_permissions":{"u":["read"]}`, `"token_ttl":"1h0m0s"`, `"token_max_ttl":"720h0m0s"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not contain %s", b, want)
		}
	}
	back := DefaultConfig()
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.TokenTTL != time.Hour || back.TokenMaxTTL != 720*time.Hour || !slices.Equal(back.BasicAuthPermissions["u"], []string{"read"}) {
		t.Fatalf("round trip: %+v", back)
	}
	// Old configs without the keys keep the defaults.
	d := DefaultConfig()
	if err := json.Unmarshal([]byte(`{"idle_timeout": "5s"}`), &d); err != nil || d.TokenTTL != 24*time.Hour {
		t.Fatalf("partial decode: %v %+v", err, d)
	}
	if err := json.Unmarshal([]byte(`{"token_max_ttl": "forever"}`), &d); err == nil || !strings.Contains(err.Error(), "api.restapi.token_max_ttl") {
		t.Fatalf("bad duration: %v", err)
	}
}

func TestAuthConfigApplyEnv(t *testing.T) {
	env := map[string]string{
		"PINCLUSTER_RESTAPI_BASIC_AUTH_PERMISSIONS": "a:read+pin,b:admin",
		"PINCLUSTER_RESTAPI_TOKEN_TTL":              "2h",
		"PINCLUSTER_RESTAPI_TOKEN_MAX_TTL":          "48h",
	}
	c := DefaultConfig()
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.BasicAuthPermissions["a"], []string{"read", "pin"}) || !slices.Equal(c.BasicAuthPermissions["b"], []string{"admin"}) ||
		c.TokenTTL != 2*time.Hour || c.TokenMaxTTL != 48*time.Hour {
		t.Fatalf("ApplyEnv: %+v", c)
	}
	env = map[string]string{"PINCLUSTER_RESTAPI_BASIC_AUTH_PERMISSIONS": `{"a": ["read"]}`}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil || !slices.Equal(c.BasicAuthPermissions["a"], []string{"read"}) {
		t.Fatalf("JSON form: %v %+v", err, c.BasicAuthPermissions)
	}
	for k, v := range map[string]string{"PINCLUSTER_RESTAPI_BASIC_AUTH_PERMISSIONS": "a", "PINCLUSTER_RESTAPI_TOKEN_TTL": "x"} {
		err := (&Config{}).ApplyEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}
