package rest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// POST /token reads exactly one JSON object: trailing bytes, a second object, a non-object or
// an unknown field are a 400 that says what to send, and no token is issued.
func TestTokenBodyStrict(t *testing.T) {
	h := newAuthServer(t, nil)
	alice := basic("alice", "secret")
	for body, msg := range map[string]string{
		`{"expires_in": "1h"}garbage`:                     "data after the JSON object (from byte 20)",
		`{"expires_in": "1h"} {"permissions": ["admin"]}`: "data after the JSON object",
		`{"permissions": ["read"]}}`:                      "data after the JSON object",
		`{"permissions": ["read"]},`:                      "data after the JSON object",
		`{"expires_in": "1h"`:                             "not a token request",
		`["read"]`:                                        "not a token request",
		`"1h"`:                                            "not a token request",
		`{"expires_in": "1h", "permisions": ["read"]}`:    "not a token request",
		`{"expires_in": 3600}`:                            "not a token request",
		"{\"expires_in\": \"1h\"}\x00":                    "data after the JSON object",
	} {
		t.Run(body, func(t *testing.T) {
			wantError(t, do(t, h, "POST", "/token", strings.NewReader(body), "Authorization", alice), 400, msg)
		})
	}
	// Whitespace around the object is not data.
	resp := do(t, h, "POST", "/token", strings.NewReader("\n {\"expires_in\": \"1h\"} \r\n\t"), "Authorization", alice)
	if tr := decode[TokenResponse](t, resp, 200); tr.Token == "" {
		t.Fatal("no token")
	}
}

// FuzzTokenBody: whatever the body, POST /token never panics and answers 200 with a token, or a
// JSON 400/403/413; a 200 only for a body that is empty or exactly one JSON object with known
// fields.
func FuzzTokenBody(f *testing.F) {
	for _, s := range []string{"", " ", "{}", `{"expires_in":"1h"}`, `{"permissions":["read","pin"]}`, `{"expires_in":"1h"}x`,
		`{"expires_in":"1h"}{}`, `null`, `[]`, `{"a":1}`, `{"expires_in":"-1h"}`, `{"permissions":["root"]}`, "\xff", `{"expires_in":"1h"`} {
		f.Add([]byte(s))
	}
	h := newAuthServer(f, func(c *Config) { c.MaxBodyBytes = 4 << 10 })
	alice := basic("alice", "secret")
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/token", bytes.NewReader(body))
		r.Header.Set("Authorization", alice)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkAnswer(t, "POST /token", w)
		if w.Code != http.StatusOK {
			return
		}
		var tr TokenResponse
		if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || tr.Token == "" {
			t.Fatalf("200 without a token: %q", w.Body.String())
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var req tokenRequest
		if err := dec.Decode(&req); err != nil {
			t.Fatalf("accepted a body that is not a token request: %q (%v)", body, err)
		}
		if rest := body[dec.InputOffset():]; len(bytes.TrimSpace(rest)) != 0 {
			t.Fatalf("accepted trailing data %q in %q", rest, body)
		}
	})
}
