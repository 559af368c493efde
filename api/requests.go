package api

// A pin's Pinning Service API requests (api/pinsvc) live in its metadata: one key per request
// under RequestMetaPrefix, and RequestMarkerKey = "1" on a pin the service created. They belong
// to that API: only its own commits add or remove them (and `state import`, which restores a
// pinset as exported). Every other way of writing a pin (the REST API's and the proxy's pin
// add, an add of content, a batch line) goes through KeepRequests:
//   - the requests the stored pin holds are kept whatever metadata was given, so re-pinning a
//     CID by hand never drops a user's remote pins (`ipfs pin remote ls` would lose them);
//   - request keys in the metadata given are dropped, so that no one with the pin permission
//     makes up requests (a forged id, a created time in the future at the top of every
//     listing) or copies one onto another CID;
//   - the marker is not kept: a pin made by hand is the user's own, and stays when its last
//     request is removed (the marker unpins a pin only the service wanted).
//
// An unpin removes the requests with the pin: it is explicit.
const (
	// RequestMetaPrefix prefixes the metadata key of each request (persistence indexes them).
	RequestMetaPrefix = "pinsvc/"
	// RequestMarkerKey marks, with "1", a pin the pinning service created.
	RequestMarkerKey = "pinsvc"
)

// IsRequestKey reports whether a metadata key belongs to the pinning service.
func IsRequestKey(k string) bool {
	return k == RequestMarkerKey || len(k) > len(RequestMetaPrefix) && k[:len(RequestMetaPrefix)] == RequestMetaPrefix
}

// KeepRequests returns the metadata to store when a pin whose stored metadata is stored (nil
// for a new pin) is written with metadata in by anything but the pinning service: in without
// request keys or marker, plus the request keys of stored (not its marker). It returns in
// itself when neither holds a request key or marker (most pins), and never changes either map.
func KeepRequests(stored, in map[string]string) map[string]string {
	if !HasRequestKey(stored) && !HasRequestKey(in) {
		return in
	}
	out := make(map[string]string, len(in)+len(stored))
	for k, v := range in {
		if !IsRequestKey(k) {
			out[k] = v
		}
	}
	for k, v := range stored {
		if IsRequestKey(k) && k != RequestMarkerKey {
			out[k] = v
		}
	}
	if len(out) == 0 && in == nil {
		return nil
	}
	return out
}

// WithoutRequests returns m without its request keys (m itself when it has none).
func WithoutRequests(m map[string]string) map[string]string {
	return KeepRequests(nil, m)
}

// HasRequestKey reports whether m holds a request key or the marker.
func HasRequestKey(m map[string]string) bool {
	for k := range m {
		if IsRequestKey(k) {
			return true
		}
	}
	return false
}
