package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pincluster/pincluster/api"
)

// tokenRequest is the JSON body of POST /token.
type tokenRequest struct {
	ExpiresIn   string   `json:"expires_in,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// IssuedToken is the answer of POST /token: the token, its id (for TokenRevoke), its expiry and
// permissions.
type IssuedToken struct {
	Token       string    `json:"token"`
	ID          string    `json:"id,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
	Permissions []string  `json:"permissions,omitempty"`
}

// Token asks the API for a bearer token (POST /token) valid for expiresIn (0 = the server's
// token_ttl) with perms ("read", "pin", "admin"; empty = all of the user's). It authenticates
// with basic auth (Config.Username) when set, else with Config.Token, which then needs "admin".
// Use the token as Config.Token.
func (c *Client) Token(ctx context.Context, expiresIn time.Duration, perms []string) (string, error) {
	t, err := c.IssueToken(ctx, expiresIn, perms)
	return t.Token, err
}

// IssueToken is Token with the whole answer (the token's id included).
func (c *Client) IssueToken(ctx context.Context, expiresIn time.Duration, perms []string) (IssuedToken, error) {
	if expiresIn < 0 {
		return IssuedToken{}, fmt.Errorf("token lifetime must be positive, got %s", expiresIn)
	}
	req := tokenRequest{Permissions: perms}
	if expiresIn > 0 {
		req.ExpiresIn = expiresIn.String()
	}
	b, err := json.Marshal(req)
	if err != nil {
		return IssuedToken{}, err
	}
	var out IssuedToken
	err = c.getJSON(ctx, request{method: "POST", path: "/token", query: url.Values{}, basicAuth: true,
		body: func() (io.ReadCloser, string, error) {
			return io.NopCloser(strings.NewReader(string(b))), "application/json", nil
		}}, &out)
	if err != nil {
		return IssuedToken{}, err
	}
	if out.Token == "" {
		return IssuedToken{}, fmt.Errorf("POST /token at %s answered without a token", c.hostName())
	}
	return out, nil
}

// Tokens streams the record of every token the cluster issued and that has not expired, with
// whether it was revoked (GET /token; needs admin). Records never contain the tokens.
func (c *Client) Tokens(ctx context.Context, fn func(api.TokenRecord) error) error {
	return stream(ctx, c, request{method: http.MethodGet, path: "/token"}, fn)
}

// TokenRevoke revokes the token id on every peer (DELETE /token/{id}; needs admin) and returns
// its record. Revoking a revoked token is no error; an unknown id is an api.Error with code 404.
func (c *Client) TokenRevoke(ctx context.Context, id string) (api.TokenRecord, error) {
	var out api.TokenRecord
	err := c.getJSON(ctx, request{method: http.MethodDelete, path: "/token/" + url.PathEscape(id)}, &out)
	return out, err
}
