package persistence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// pinKeys are the keys of api.Pin's JSON form, read from its tags so that a field added to
// api.Pin is imported without a change here.
var pinKeys = jsonKeys(reflect.TypeFor[api.Pin]())

// legacyOnlyKeys are keys of IPFS Cluster's pins that pincluster has no field for; import
// drops their values.
var legacyOnlyKeys = []string{"shard_size"}

// cidKeys are the keys whose value is a CID, which may be written {"/": "<cid>"}.
var cidKeys = []string{"cid", "reference", "pin_update"}

// jsonKeys lists the JSON keys encoding/json reads into struct t, embedded structs flattened.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || !f.IsExported():
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			keys = append(keys, jsonKeys(f.Type)...)
		case name == "":
			keys = append(keys, f.Name)
		default:
			keys = append(keys, name)
		}
	}
	return keys
}

// legacyPin is a pin line of an IPFS Cluster export: its fields shadow api.Pin's "type" (a
// number there) and hold the keys pincluster has no field for.
type legacyPin struct {
	api.Pin
	Type      json.RawMessage `json:"type"`
	ShardSize json.RawMessage `json:"shard_size"`
}

// presentKeys records which keys a pin line sets to something other than null: a default
// depends on whether a field was given, not on its zero value (max_depth 0 means direct).
type presentKeys struct{ maxDepth, mode bool }

// decodeImportPin reads one pin line strictly and completes it as POST /pins completes a pin.
//
// Strict: a key that api.Pin does not read is refused, as is a key given twice. Keys match
// exactly: encoding/json alone would take "Name" for "name", and a hand-edited line with a
// wrongly-cased key would lose its value silently.
//
// Defaults, as api.NewPin and the REST handler give them: type "pin"; allocations []; a
// missing max_depth follows the mode (-1 recursive, 0 direct); a missing mode follows
// max_depth (0 direct, else recursive: IPFS Cluster files from before the mode field); a
// missing or zero timestamp is now. Replication factors left at 0 mean "the cluster
// default", which the caller applies (Store.ImportWith's prepare).
//
// Checks beyond api.PinOptions.Validate (which the caller runs): a known type, a max_depth of
// -1 or more, and in pincluster's format a mode that agrees with max_depth (every pincluster
// pin is written so). In IPFS Cluster's format max_depth decides, as it did for IPFS Cluster's
// pinning, and the mode follows it: IPFS Cluster writes max_depth 0 with mode recursive for
// its cluster-DAG ("pin direct") and meta pins, and the pin must export and import again as
// it was imported.
//
// In legacy (IPFS Cluster) files "type" is a number and is dropped (those pins become "pin"),
// and shard_size is dropped.
func decodeImportPin(b []byte, legacy bool, now time.Time) (api.Pin, error) {
	var p api.Pin
	present, err := checkPinKeys(b, legacy)
	if err != nil {
		return p, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // checkPinKeys did it; kept so the two cannot drift apart
	if legacy {
		var lp legacyPin
		if err := dec.Decode(&lp); err != nil {
			return p, fmt.Errorf("bad pin JSON: %v", err)
		}
		p = lp.Pin
		// A headerless file may hold pincluster pins too (GET /allocations output): their
		// type is a string.
		if t := bytes.TrimSpace(lp.Type); len(t) > 0 && t[0] == '"' {
			if err := json.Unmarshal(t, &p.Type); err != nil {
				return p, fmt.Errorf("bad pin JSON: type: %v", err)
			}
		}
	} else if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("bad pin JSON: %v", err)
	}
	if !p.Cid.Defined() {
		return p, errors.New("pin has no cid")
	}
	if p.Type == "" {
		p.Type = api.PinTypeData
	}
	if !slices.Contains(api.PinTypes, p.Type) {
		return p, fmt.Errorf("type %q is not a pin type (use pin, meta-pin, clusterdag-pin or shard-pin)", p.Type)
	}
	if p.Allocations == nil {
		p.Allocations = []peer.ID{}
	}
	if p.MaxDepth < -1 {
		return p, fmt.Errorf("max_depth (%d) must be -1 (recursive), 0 (direct) or a positive depth", p.MaxDepth)
	}
	switch {
	case !present.maxDepth:
		p.MaxDepth = api.NewPin(p.Cid, api.PinOptions{Mode: p.Mode}).MaxDepth
	case !present.mode || legacy:
		p.Mode = api.PinModeRecursive
		if p.MaxDepth == 0 {
			p.Mode = api.PinModeDirect
		}
	case (p.Mode == api.PinModeDirect) != (p.MaxDepth == 0):
		return p, fmt.Errorf("mode %s contradicts max_depth %d (direct is max_depth 0; or leave max_depth out)", p.Mode, p.MaxDepth)
	}
	if p.Reference != nil && !p.Reference.Defined() {
		p.Reference = nil // "reference": "" names nothing; stored as absent
	}
	if p.Timestamp.IsZero() {
		p.Timestamp = now
	}
	return p, nil
}

// checkPinKeys walks the top-level keys of the pin object b: each must be a key of api.Pin
// (or of IPFS Cluster's pins, in legacy files), given once, and a CID written as an object
// must be {"/": "<cid>"}. It reports which keys with defaults are set, and refuses anything
// after the object.
func checkPinKeys(b []byte, legacy bool) (presentKeys, error) {
	var present presentKeys
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return present, fmt.Errorf("bad pin JSON: %v", err)
	}
	if tok != json.Delim('{') {
		return present, fmt.Errorf("bad pin JSON: a pin is a JSON object, got %s", describeToken(tok))
	}
	var seen []string // a pin has 15 keys: a slice beats a map
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return present, fmt.Errorf("bad pin JSON: %v", err)
		}
		key, _ := tok.(string) // inside an object, a token before a value is a key
		if err := checkPinKey(key, legacy); err != nil {
			return present, err
		}
		if slices.Contains(seen, key) {
			return present, fmt.Errorf("key %q appears twice", key)
		}
		seen = append(seen, key)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return present, fmt.Errorf("bad pin JSON: %s: %v", key, err)
		}
		if string(val) == "null" {
			continue // encoding/json leaves the field unset: its default applies
		}
		switch key {
		case "max_depth":
			present.maxDepth = true
		case "mode":
			present.mode = true
		}
		if slices.Contains(cidKeys, key) && len(val) > 0 && val[0] == '{' {
			if err := checkCidObject(val); err != nil {
				return present, fmt.Errorf("%s: %v", key, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return present, fmt.Errorf("bad pin JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return present, errors.New("bad pin JSON: more than one value on the line")
	}
	return present, nil
}

// checkPinKey refuses a key that a pin line may not hold, saying which one was meant when
// only its case is wrong.
func checkPinKey(key string, legacy bool) error {
	if slices.Contains(pinKeys, key) || legacy && slices.Contains(legacyOnlyKeys, key) {
		return nil
	}
	for _, k := range pinKeys {
		if strings.EqualFold(k, key) {
			return fmt.Errorf("unknown key %q (keys are case-sensitive: did you mean %q?)", key, k)
		}
	}
	return fmt.Errorf("unknown key %q (a pin has %s)", key, strings.Join(pinKeys, ", "))
}

// checkCidObject accepts IPFS Cluster's {"/": "<cid>"} and nothing else in object form.
func checkCidObject(val json.RawMessage) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(val, &obj); err != nil {
		return err
	}
	for k := range obj {
		if k != "/" {
			return fmt.Errorf(`a CID object is {"/": "<cid>"}, not one with key %q`, k)
		}
	}
	return nil
}

// describeToken names a JSON token's kind for "a pin is a JSON object, got ..." messages.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return string(v)
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}
