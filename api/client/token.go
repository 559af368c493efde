package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// tokenRequest is the JSON body of POST /token.
type tokenRequest struct {
	ExpiresIn   string   `json:"expires_in,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// Token asks the API for a bearer token (POST /token) valid for expiresIn (0 = the server's
// token_ttl) with perms ("read", "pin", "admin"; empty = all of the user's). It authenticates
// with basic auth (Config.Username) when set, else with Config.Token, which then needs "admin".
// Use the token as Config.Token.
func (c *Client) Token(ctx context.Context, expiresIn time.Duration, perms []string) (string, error) {
	if expiresIn < 0 {
		return "", fmt.Errorf("token lifetime must be positive, got %s", expiresIn)
	}
	req := tokenRequest{Permissions: perms}
	if expiresIn > 0 {
		req.ExpiresIn = expiresIn.String()
	}
	b, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	var out struct {
		Token string `json:"token"`
	}
	err = c.getJSON(ctx, request{method: "POST", path: "/token", query: url.Values{}, basicAuth: true,
		body: func() (io.ReadCloser, string, error) {
			return io.NopCloser(strings.NewReader(string(b))), "application/json", nil
		}}, &out)
	if err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", fmt.Errorf("POST /token at %s answered without a token", c.hostName())
	}
	return out.Token, nil
}
