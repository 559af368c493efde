package strictjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

type dur time.Duration

func (d *dur) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("not a string")
	}
	v, err := time.ParseDuration(s)
	*d = dur(v)
	return err
}

// selfDecoding is a section with its own decoder, which must name itself.
type selfDecoding struct{ TTL string }

func (s *selfDecoding) UnmarshalJSON(b []byte) error {
	j := struct {
		TTL string `json:"ttl"`
	}{s.TTL}
	if err := Decode("informer", b, &j); err != nil {
		return err
	}
	s.TTL = j.TTL
	return nil
}

type inner struct {
	Size int `json:"max_batch_size"`
}

type section struct {
	Name     string            `json:"name"`
	Every    dur               `json:"every"`
	Batching inner             `json:"batching"`
	Tags     map[string]string `json:"tags"`
	List     []inner           `json:"list"`
	Skipped  int               `json:"-"`
}

type file struct {
	Cluster  section      `json:"cluster"`
	Informer selfDecoding `json:"informer"`
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // substring of the error; "" = no error
		unknown  bool   // errors.Is(err, ErrUnknownKey)
	}{
		{"ok", `{"cluster": {"name": "a", "every": "1s", "batching": {"max_batch_size": 3}, "tags": {"k": "v"}}, "informer": {"ttl": "2s"}}`, "", false},
		{"case-insensitive like encoding/json", `{"Cluster": {"NAME": "a"}}`, "", false},
		{"null section", `{"cluster": null, "informer": null}`, "", false},
		{"unknown section", `{"clusterr": {}}`, `unknown section "clusterr" (known sections: cluster, informer)`, true},
		{"unknown key", `{"cluster": {"nmae": "a"}}`, `cluster: unknown key "nmae" (known keys: name, every, batching, tags, list)`, true},
		{"unknown nested key", `{"cluster": {"batching": {"max_batch_sise": 1}}}`, `cluster.batching: unknown key "max_batch_sise"`, true},
		{"unknown key in a list", `{"cluster": {"list": [{"max_batch_size": 1}, {"x": 1}]}}`, `cluster.list[1]: unknown key "x"`, true},
		{"ignored field is unknown", `{"cluster": {"Skipped": 1}}`, `cluster: unknown key "Skipped"`, true},
		{"unknown key in a self-decoding section", `{"informer": {"tagz": {}}}`, `informer: unknown key "tagz" (known keys: ttl)`, true},
		{"type error names the key", `{"cluster": {"batching": {"max_batch_size": "ten"}}}`, `cluster.batching.max_batch_size: expected an integer, got string`, false},
		{"scalar decoder error names the key", `{"cluster": {"every": "5x"}}`, `cluster.every: `, false},
		{"not an object", `{"cluster": 3}`, `cluster: expected an object, got number`, false},
		{"syntax", `{"cluster": `, `unexpected end of JSON input`, false},
		{"trailing data", `{} {}`, `after top-level value`, false},
		{"key twice", `{"cluster": {"name": "a", "name": "b"}}`, `cluster: key "name" is given twice: keep one`, false},
		{"key twice in another case", `{"cluster": {"name": "a", "NAME": "b"}}`, `cluster: key "NAME" is given twice`, false},
		{"section twice", `{"cluster": {}, "cluster": {}}`, `key "cluster" is given twice`, false},
		{"map keys differ by case", `{"cluster": {"tags": {"k": "1", "K": "2"}}}`, "", false},
		{"map key twice", `{"cluster": {"tags": {"k": "1", "k": "2"}}}`, `cluster.tags: key "k" is given twice`, false},
		{"null scalar", `{"cluster": {"name": null}}`, `cluster.name: null is not a string: give a value, or leave the key out for the default`, false},
		{"null number", `{"cluster": {"batching": {"max_batch_size": null}}}`, `cluster.batching.max_batch_size: null is not an integer`, false},
		{"null map and list", `{"cluster": {"tags": null, "list": null}}`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f file
			err := Decode("", []byte(tc.in), &f)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if errors.Is(err, ErrUnknownKey) != tc.unknown {
				t.Fatalf("errors.Is(ErrUnknownKey) = %v, want %v (%v)", !tc.unknown, tc.unknown, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
		})
	}
}

func TestDecodeKeepsCurrentValues(t *testing.T) {
	s := section{Name: "default", Batching: inner{Size: 256}}
	if err := Decode("cluster", []byte(`{"batching": {}}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.Name != "default" || s.Batching.Size != 256 {
		t.Fatalf("defaults lost: %+v", s)
	}
}

// FuzzDecode: any input yields a value or a one-line error, never a panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"cluster": {"list": [{"x": 1}]}, "informer": {"ttl": "1s"}}`))
	f.Add([]byte(`{"cluster": {"every": 5}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var v file
		if err := Decode("", b, &v); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
