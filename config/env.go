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
// section names the config section in error messages.
func ApplyEnv(section string, v any, prefixes ...string) error {
	return applyEnv(section, reflect.ValueOf(v).Elem(), prefixes)
}

func applyEnv(path string, rv reflect.Value, prefixes []string) error {
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
			if err := applyEnv(path+"."+key, fv, sub); err != nil {
				return err
			}
			continue
		}
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
			}
		}
	}
	return nil
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

// LookupEnv returns the first non-empty variable among PREFIX+KEY spellings.
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
