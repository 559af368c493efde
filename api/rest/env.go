package rest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ApplyEnv overrides config keys from the environment (getenv is usually os.Getenv). Each key
// has a PINCLUSTER_RESTAPI_ name and IPFS Cluster's CLUSTER_RESTAPI_ name (the first set wins):
//
//	PINCLUSTER_RESTAPI_LISTEN_MULTIADDRESS   CLUSTER_RESTAPI_HTTPLISTENMULTIADDRESS
//	PINCLUSTER_RESTAPI_BASIC_AUTH_CREDENTIALS CLUSTER_RESTAPI_BASICAUTHCREDENTIALS  (user:pw,user2:pw2)
//	PINCLUSTER_RESTAPI_BASIC_AUTH_PERMISSIONS                                      (user:read+pin,user2:admin or a JSON object)
//	PINCLUSTER_RESTAPI_CORS_ALLOWED_ORIGINS  CLUSTER_RESTAPI_CORSALLOWEDORIGINS    (comma list)
//	PINCLUSTER_RESTAPI_READ_HEADER_TIMEOUT, _READ_TIMEOUT, _IDLE_TIMEOUT, _WRITE_TIMEOUT (durations)
//	PINCLUSTER_RESTAPI_TOKEN_TTL, _TOKEN_MAX_TTL                                   (durations)
func (c *Config) ApplyEnv(getenv func(string) string) error {
	return c.ApplyEnvRecorded(getenv, nil)
}

// ApplyEnvRecorded is ApplyEnv calling record (when not nil) with each key it sets, as
// Validate's errors name it ("api.restapi.read_timeout"), and the variable that set it, so
// that an invalid value can be blamed on the variable rather than on service.json.
func (c *Config) ApplyEnvRecorded(getenv func(string) string, record func(key, name string)) error {
	if record == nil {
		record = func(string, string) {}
	}
	get := func(names ...string) (string, string) {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return n, v
			}
		}
		return "", ""
	}
	if n, v := get("PINCLUSTER_RESTAPI_LISTEN_MULTIADDRESS", "CLUSTER_RESTAPI_HTTPLISTENMULTIADDRESS"); v != "" {
		c.ListenMultiaddress = v
		record(configKey+".listen_multiaddress", n)
	}
	if n, v := get("PINCLUSTER_RESTAPI_BASIC_AUTH_CREDENTIALS", "CLUSTER_RESTAPI_BASICAUTHCREDENTIALS"); v != "" {
		creds := map[string]string{}
		for _, pair := range strings.Split(v, ",") {
			user, pw, ok := strings.Cut(strings.TrimSpace(pair), ":")
			if !ok || user == "" {
				return fmt.Errorf("%s: %q is not a list of user:password pairs", n, v)
			}
			creds[user] = pw
		}
		c.BasicAuthCredentials = creds
		record(configKey+".basic_auth_credentials", n)
	}
	if v := getenv("PINCLUSTER_RESTAPI_BASIC_AUTH_PERMISSIONS"); v != "" {
		perms, err := parsePermissionsEnv(v)
		if err != nil {
			return fmt.Errorf("PINCLUSTER_RESTAPI_BASIC_AUTH_PERMISSIONS: %q: %v", v, err)
		}
		c.BasicAuthPermissions = perms
		record(configKey+".basic_auth_permissions", "PINCLUSTER_RESTAPI_BASIC_AUTH_PERMISSIONS")
	}
	if n, v := get("PINCLUSTER_RESTAPI_CORS_ALLOWED_ORIGINS", "CLUSTER_RESTAPI_CORSALLOWEDORIGINS"); v != "" {
		c.CORSAllowedOrigins = strings.Split(v, ",")
		record(configKey+".cors_allowed_origins", n)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"PINCLUSTER_RESTAPI_READ_HEADER_TIMEOUT", &c.ReadHeaderTimeout}, {"PINCLUSTER_RESTAPI_READ_TIMEOUT", &c.ReadTimeout}, {"PINCLUSTER_RESTAPI_IDLE_TIMEOUT", &c.IdleTimeout}, {"PINCLUSTER_RESTAPI_WRITE_TIMEOUT", &c.WriteTimeout},
		{"PINCLUSTER_RESTAPI_TOKEN_TTL", &c.TokenTTL}, {"PINCLUSTER_RESTAPI_TOKEN_MAX_TTL", &c.TokenMaxTTL}} {
		if v := getenv(d.name); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a duration (e.g. 30s)", d.name, v)
			}
			*d.dst = x
			record(configKey+"."+strings.ToLower(strings.TrimPrefix(d.name, "PINCLUSTER_RESTAPI_")), d.name)
		}
	}
	return nil
}

// parsePermissionsEnv reads "user:read+pin,user2:admin" or a JSON object {"user": ["read"]}.
func parsePermissionsEnv(v string) (map[string][]string, error) {
	out := map[string][]string{}
	if strings.HasPrefix(strings.TrimSpace(v), "{") {
		if err := json.Unmarshal([]byte(v), &out); err != nil {
			return nil, fmt.Errorf("not a JSON object of permission lists: %v", err)
		}
		return out, nil
	}
	for _, pair := range strings.Split(v, ",") {
		user, perms, ok := strings.Cut(strings.TrimSpace(pair), ":")
		if !ok || user == "" || perms == "" {
			return nil, fmt.Errorf("%q is not user:perm+perm (e.g. alice:read+pin,bob:admin)", pair)
		}
		out[user] = strings.Split(perms, "+")
	}
	return out, nil
}
