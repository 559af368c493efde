package api

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits on what a pin carries besides its CID. Every pin record holds its name and metadata,
// every peer stores and gossips a copy, and the name is also a key of the name index, so an
// unbounded value would make one pin cost what a million should (and a name past Badger's key
// size would fail the whole batch it was committed in). The bounds:
//   - name: at most 255 bytes, as the IPFS Pinning Service API allows;
//   - metadata: at most 64 keys, each 1 to 255 bytes, and at most 16 KiB for all keys and
//     values together (generous for labels, tags and app IDs; bulky data belongs in IPFS).
//
// Names and metadata must be valid UTF-8: JSON would otherwise replace bad bytes silently, and
// the stored pin would not be the one asked for.
const (
	MaxPinNameBytes     = 255
	MaxMetadataKeys     = 64
	MaxMetadataKeyBytes = 255
	MaxMetadataBytes    = 16 << 10
)

// ValidateLimits checks the name and metadata against the limits above. It is the one check of
// them: PinOptions.Validate, PinOptionsFromQuery and AddParams.Validate all call it, so a pin
// is refused the same way wherever it enters. Errors wrap ErrInvalid.
func (o PinOptions) ValidateLimits() error {
	if n := len(o.Name); n > MaxPinNameBytes {
		return fmt.Errorf("%w: pin name is %d bytes, over the limit of %d", ErrInvalid, n, MaxPinNameBytes)
	}
	if !utf8.ValidString(o.Name) {
		return fmt.Errorf("%w: pin name is not valid UTF-8", ErrInvalid)
	}
	if n := len(o.Metadata); n > MaxMetadataKeys {
		return fmt.Errorf("%w: metadata has %d keys, over the limit of %d", ErrInvalid, n, MaxMetadataKeys)
	}
	keys := make([]string, 0, len(o.Metadata))
	for k := range o.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same input always reports the same key
	total := 0
	for _, k := range keys {
		v := o.Metadata[k]
		switch {
		case k == "":
			return fmt.Errorf("%w: metadata has an empty key", ErrInvalid)
		case len(k) > MaxMetadataKeyBytes:
			return fmt.Errorf("%w: metadata key %q... is %d bytes, over the limit of %d", ErrInvalid, k[:32], len(k), MaxMetadataKeyBytes)
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return fmt.Errorf("%w: metadata key %q: key and value must be valid UTF-8", ErrInvalid, strings.ToValidUTF8(k, "?"))
		}
		total += len(k) + len(v)
	}
	if total > MaxMetadataBytes {
		return fmt.Errorf("%w: metadata is %d bytes (keys and values), over the limit of %d", ErrInvalid, total, MaxMetadataBytes)
	}
	return nil
}
