package config

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ApplyEnv overrides fields of the struct pointed to by v from environment variables named
// PREFIX + upper-cased JSON key (e.g. PINCLUSTER_SECRET for the "secret" key with prefix
// "PINCLUSTER_"), trying each prefix in order (later prefixes win). Nested structs extend the
// prefix with their key (PINCLUSTER_BATCHING_MAX_BATCH_SIZE). Empty variables are ignored.
// section names the config section in error messages. Each key set is added to rec (which may be
// nil) under the variable that won.
func ApplyEnv(rec *EnvOverrides, section string, v any, prefixes ...string) error {
	return applyEnv(rec, section, reflect.ValueOf(v).Elem(), prefixes)
}

func applyEnv(rec *EnvOverrides, path string, rv reflect.Value, prefixes []string) error {
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		key := strings.Split(f.Tag.Get("json"), ",")[0]
		if key == "" || key == "-" || !f.IsExported() {
			continue
		}
		fv := rv.Field(i)
		if fv.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
			sub := make([]string, len(prefixes))
			for j, p := range prefixes {
				sub[j] = p + strings.ToUpper(key) + "_"
			}
			if err := applyEnv(rec, path+"."+key, fv, sub); err != nil {
				return err
			}
			continue
		}
		won := ""
		for _, p := range prefixes {
			// IPFS Cluster spells keys without underscores (CLUSTER_DISABLEREPINNING); accept both.
			for _, name := range envNames(p, key) {
				val := os.Getenv(name)
				if val == "" {
					continue
				}
				if err := setFromString(fv, val); err != nil {
					return fmt.Errorf("%s.%s (from $%s=%q): %v", path, key, name, val, err)
				}
				won = name
			}
		}
		if won != "" {
			rec.Add(path+"."+key, won)
		}
	}
	return nil
}

// EnvOverride is one config key that an environment variable set.
type EnvOverride struct {
	Key string // the key's JSON path, as Validate errors name it: "cluster.secret"
	Var string // the variable: "CLUSTER_SECRET"
}

// EnvOverrides lists the keys the environment set. Validate runs on the merged config and names
// the key, not where its value came from; with this list a caller can name the variable
// instead of blaming service.json for a value the file never held.
type EnvOverrides []EnvOverride

// Add records that variable name set key; a later Add for the same key replaces it (the last
// variable applied is the one whose value stands). A nil o records nothing.
func (o *EnvOverrides) Add(key, name string) {
	if o == nil {
		return
	}
	for i := range *o {
		if (*o)[i].Key == key {
			(*o)[i].Var = name
			return
		}
	}
	*o = append(*o, EnvOverride{Key: key, Var: name})
}

// Named returns the overrides whose key err's message names: the whole path
// ("cluster.secret"), or the leaf beside its parent's path, as messages about several keys of
// a section spell them ("cluster.connection_manager.high_water (5): must be at least low_water").
func (o EnvOverrides) Named(err error) EnvOverrides {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var out EnvOverrides
	for _, e := range o {
		dot := strings.LastIndexByte(e.Key, '.')
		if containsKey(msg, e.Key, true) || dot > 0 && containsKey(msg, e.Key[:dot], true) && containsKey(msg, e.Key[dot+1:], false) {
			out = append(out, e)
		}
	}
	return out
}

// String names the variables as a shell would: "$CLUSTER_SECRET", "$A, $B".
func (o EnvOverrides) String() string {
	names := make([]string, len(o))
	for i, e := range o {
		names[i] = "$" + e.Var
	}
	return strings.Join(names, ", ")
}

// containsKey reports whether key occurs in msg as a whole name: not inside a longer word
// (pin_timeout in unpin_timeout) and, for a path (dotted), not the tail of a longer path.
func containsKey(msg, key string, path bool) bool {
	for i := 0; ; {
		j := strings.Index(msg[i:], key)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(key)
		before := start > 0 && (isWordByte(msg[start-1]) || path && msg[start-1] == '.')
		after := end < len(msg) && isWordByte(msg[end])
		if !before && !after {
			return true
		}
		i = start + 1
	}
}

func isWordByte(b byte) bool {
	return b == '_' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// envNames are the variable names for key under prefix: with and without underscores.
func envNames(prefix, key string) []string {
	up := strings.ToUpper(key)
	squashed := strings.ReplaceAll(up, "_", "")
	if squashed == up {
		return []string{prefix + up}
	}
	return []string{prefix + squashed, prefix + up}
}

// LookupEnv returns the last non-empty variable among PREFIX+KEY spellings (later prefixes win,
// as in ApplyEnv).
func LookupEnv(key string, prefixes ...string) (name, value string, ok bool) {
	for _, p := range prefixes {
		for _, n := range envNames(p, key) {
			if v := os.Getenv(n); v != "" {
				name, value, ok = n, v, true
			}
		}
	}
	return name, value, ok
}

// ParseMap reads "k=v,k2=v2" (or a JSON object) into a map.
func ParseMap(s string) (map[string]string, error) {
	out := map[string]string{}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, fmt.Errorf("not a JSON object of strings: %v", err)
		}
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, found := strings.Cut(kv, "=")
		if !found || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q is not key=value", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func setFromString(fv reflect.Value, s string) error {
	switch fv.Interface().(type) {
	case Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("not a duration")
		}
		fv.Set(reflect.ValueOf(Duration(d)))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		fv.SetInt(n)
	case reflect.Uint64, reflect.Uint, reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not a non-negative integer")
		}
		fv.SetUint(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean")
		}
		fv.SetBool(b)
	case reflect.Slice:
		if fv.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment")
		}
		parts := strings.Split(s, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		fv.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}
