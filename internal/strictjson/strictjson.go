// Package strictjson decodes configuration sections so that every key in the file is either read
// or reported: an unknown key (a typo, a key from another version) is an error naming the
// section and the key, never a silent fall-back to a default.
//
// encoding/json's DisallowUnknownFields does not reach into types with their own UnmarshalJSON
// (each config section with human-readable durations has one) and its error does not say in which
// section the key was. Decode walks the input against the target type first to name the section,
// then decodes with DisallowUnknownFields. A section type with its own UnmarshalJSON calls Decode
// on its JSON form, naming itself.
//
//	func (c *Config) UnmarshalJSON(b []byte) error {
//		j := configJSON{...current values...}
//		if err := strictjson.Decode("monitor", b, &j); err != nil {
//			return err // monitor: unknown key "tagz" (known keys: check_interval, alert_history)
//		}
//		...
//	}
package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ErrUnknownKey is matched (errors.Is) by every *UnknownKeyError.
var ErrUnknownKey = errors.New("unknown key")

// UnknownKeyError is a key that no field of its section reads.
type UnknownKeyError struct {
	Section string   // dotted path of the object holding the key; "" for the top level
	Key     string   // the key as written
	Known   []string // the keys the section reads, in declaration order
}

func (e *UnknownKeyError) Error() string {
	known := strings.Join(e.Known, ", ")
	if e.Section == "" {
		return fmt.Sprintf("unknown section %q (known sections: %s)", e.Key, known)
	}
	return fmt.Sprintf("%s: unknown key %q (known keys: %s)", e.Section, e.Key, known)
}

// Is makes errors.Is(err, ErrUnknownKey) true.
func (e *UnknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// Decode decodes the JSON value b into v (a pointer) over v's current values, rejecting keys that
// no field reads. section ("" for a whole file) prefixes every error, so a message names where
// the problem is: "informer: unknown key \"tagz\" ...", "pin_tracker.concurrent_pins: expected
// int, got string".
func Decode(section string, b []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("strictjson: Decode needs a non-nil pointer, got %T", v)
	}
	if !json.Valid(b) {
		// Checked first so the walk below sees one well-formed value; the decoder describes the
		// syntax error.
		var probe any
		err := json.Unmarshal(b, &probe)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return prefix(section, err)
	}
	if err := checkKeys(section, b, rv.Type().Elem()); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// Only a type error of this decode carries a path relative to v; one wrapped by a nested
		// section's own decoder is relative to that section, which names itself.
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return fmt.Errorf("%s: expected %s, got %s", join(section, te.Field), typeName(te.Type), te.Value)
		}
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			return prefix(section, err) // the walk should have named it; keep the section at least
		}
		return err // from a nested section's own decoder, already naming it
	}
	return nil
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// checkKeys walks raw against t and reports the first key (in file order) that t does not read.
func checkKeys(path string, raw json.RawMessage, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) {
		if t.Kind() == reflect.Struct {
			return nil // a section with its own decoder checks its keys and names itself
		}
		// A scalar with its own decoder (a duration): decode it here so its error names the key.
		if err := json.Unmarshal(raw, reflect.New(t).Interface()); err != nil {
			return prefix(path, err)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		// encoding/json leaves the field as it was on null: the key would be read and ignored
		// ("secret": null keeps a fresh random secret, with no word said).
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return prefix(path, fmt.Errorf("null is not %s: give a value, or leave the key out for the default", typeName(t)))
		}
	case reflect.Struct:
		fields := jsonFields(t)
		return eachMember(path, raw, true, func(key string, val json.RawMessage) error {
			f, ok := lookup(fields, key)
			if !ok {
				known := make([]string, len(fields))
				for i, f := range fields {
					known[i] = f.name
				}
				return &UnknownKeyError{Section: path, Key: key, Known: known}
			}
			return checkKeys(join(path, f.name), val, f.typ)
		})
	case reflect.Map:
		return eachMember(path, raw, false, func(key string, val json.RawMessage) error {
			return checkKeys(join(path, key), val, t.Elem())
		})
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // []byte is a base64 string
		}
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return nil // not an array: the decoder reports the type error
		}
		for i, e := range elems {
			if err := checkKeys(fmt.Sprintf("%s[%d]", path, i), e, t.Elem()); err != nil {
				return err
			}
		}
	}
	return nil
}

// eachMember calls f for each member of the JSON object raw (at path), in file order, and
// refuses a key given twice (encoding/json would keep the last one silently): in any case when
// fold (a struct's fields, which encoding/json matches so), exactly otherwise (a map's keys).
// Anything but an object is left to the decoder, which reports the type error.
func eachMember(path string, raw json.RawMessage, fold bool, f func(key string, val json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		k := key
		if fold {
			k = strings.ToLower(key)
		}
		if seen[k] {
			return prefix(path, fmt.Errorf("key %q is given twice: keep one", key))
		}
		seen[k] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil
		}
		if err := f(key, val); err != nil {
			return err
		}
	}
	return nil
}

type field struct {
	name string
	typ  reflect.Type
}

// jsonFields are the keys encoding/json reads into t: exported fields by their json tag name,
// embedded structs without a name flattened.
func jsonFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name: name, typ: f.Type})
	}
	return out
}

// lookup matches key as encoding/json does: exactly, else ignoring case.
func lookup(fields []field, key string) (field, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return field{}, false
}

func join(path, key string) string {
	switch {
	case path == "":
		return key
	case key == "":
		return path
	}
	return path + "." + key
}

func prefix(path string, err error) error {
	if path == "" {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// typeName says what JSON a Go type wants, for "expected X" messages.
func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}
