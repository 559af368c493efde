package api

// A pin's Pinning Service API requests (api/pinsvc) live in its metadata: one key per request
// under RequestMetaPrefix, and RequestMarkerKey = "1" on a pin the service created. They belong
// to that API: only its own commits add or remove them. Every other way of writing a pin that
// is already in the pinset (the REST API's and the proxy's pin add, an add of content, a batch
// line) keeps the requests the pin holds, whatever metadata it was given, so that re-pinning a
// CID by hand never drops a user's remote pins (`ipfs pin remote ls` would lose them, and the
// service's own pin would lose the marker that unpins it with its last request). An unpin
// removes them with the pin: it is explicit.
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

// KeepRequests returns the metadata to store when a pin whose metadata is stored is written
// again with metadata in: in without any request key, plus the request keys of stored. It
// returns in itself when neither holds a request key (most pins), and never changes either map.
func KeepRequests(stored, in map[string]string) map[string]string {
	if !hasRequestKey(stored) && !hasRequestKey(in) {
		return in
	}
	out := make(map[string]string, len(in)+len(stored))
	for k, v := range in {
		if !IsRequestKey(k) {
			out[k] = v
		}
	}
	for k, v := range stored {
		if IsRequestKey(k) {
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

func hasRequestKey(m map[string]string) bool {
	for k := range m {
		if IsRequestKey(k) {
			return true
		}
	}
	return false
}
