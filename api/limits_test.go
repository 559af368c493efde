package api

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	mh "github.com/multiformats/go-multihash"
)

func TestValidateLimits(t *testing.T) {
	meta := func(n, size int) map[string]string {
		m := map[string]string{}
		for i := 0; i < n; i++ {
			m[fmt.Sprintf("k%03d", i)] = strings.Repeat("v", size)
		}
		return m
	}
	tests := []struct {
		name string
		o    PinOptions
		want string // "" = accepted
	}{
		{"empty", PinOptions{}, ""},
		{"name at limit", PinOptions{Name: strings.Repeat("n", MaxPinNameBytes)}, ""},
		{"name over limit", PinOptions{Name: strings.Repeat("n", MaxPinNameBytes+1)}, "pin name is 256 bytes, over the limit of 255"},
		{"multibyte name over limit", PinOptions{Name: strings.Repeat("é", 128)}, "pin name is 256 bytes"},
		{"name not utf-8", PinOptions{Name: "a\xffb"}, "pin name is not valid UTF-8"},
		{"keys at limit", PinOptions{Metadata: meta(MaxMetadataKeys, 10)}, ""},
		{"too many keys", PinOptions{Metadata: meta(MaxMetadataKeys+1, 1)}, "metadata has 65 keys, over the limit of 64"},
		{"empty key", PinOptions{Metadata: map[string]string{"": "x"}}, "empty key"},
		{"long key", PinOptions{Metadata: map[string]string{strings.Repeat("k", 256): "x"}}, "over the limit of 255"},
		{"value not utf-8", PinOptions{Metadata: map[string]string{"k": "\xc3"}}, "valid UTF-8"},
		{"total at limit", PinOptions{Metadata: map[string]string{"k": strings.Repeat("v", MaxMetadataBytes-1)}}, ""},
		{"total over limit", PinOptions{Metadata: meta(2, MaxMetadataBytes/2)}, "over the limit of 16384"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.ValidateLimits()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tt.want)
			}
			// The same check runs wherever a pin enters.
			o := tt.o
			o.ReplicationFactorMin, o.ReplicationFactorMax = -1, -1
			if err := o.Validate(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want ErrInvalid", err)
			}
			if err := (AddParams{PinOptions: tt.o}).Validate(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("AddParams.Validate = %v, want ErrInvalid", err)
			}
		})
	}
}

// The REST query parameters of POST /pins and POST /add are checked on decoding.
func TestLimitsFromQuery(t *testing.T) {
	now := time.Now()
	long := url.Values{"name": {strings.Repeat("x", 300)}}
	if _, err := PinOptionsFromQuery(long, now); err == nil || !strings.Contains(err.Error(), "pin name is 300 bytes") {
		t.Fatalf("PinOptionsFromQuery(long name) = %v", err)
	}
	if _, err := AddParamsFromQuery(long, now); err == nil || !strings.Contains(err.Error(), "pin name is 300 bytes") {
		t.Fatalf("AddParamsFromQuery(long name) = %v", err)
	}
	big := url.Values{"meta-a": {strings.Repeat("x", MaxMetadataBytes)}}
	if _, err := PinOptionsFromQuery(big, now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("PinOptionsFromQuery(big metadata) = %v", err)
	}
	ok := url.Values{"name": {"web"}, "meta-team": {"infra"}}
	if _, err := PinOptionsFromQuery(ok, now); err != nil {
		t.Fatal(err)
	}
}

func TestSupportedHashes(t *testing.T) {
	for _, h := range SupportedHashes {
		if _, ok := mh.Names[h]; !ok {
			t.Errorf("%s is not a multihash name", h)
		}
		if err := (AddParams{HashFun: strings.ToUpper(h)}).Validate(); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	err := AddParams{HashFun: "md5"}.Validate()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `unsupported hash function "md5"`) || !strings.Contains(err.Error(), "sha2-256, sha2-512") {
		t.Fatalf("md5: %v", err)
	}
}
