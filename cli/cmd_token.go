package cli

import (
	"fmt"
	"strings"
	"time"
)

// TokenCmd is `pincluster token`: it asks the API for a bearer token (POST /token) with the
// --basic-auth credentials and prints it. Scripts then pass it with --token or PINCLUSTER_TOKEN.
type TokenCmd struct {
	ExpiresIn   time.Duration `name:"expires-in" placeholder:"DURATION" help:"Lifetime of the token (e.g. 1h, 30m; default: the daemon's api.restapi.token_ttl, 24h)."`
	Permissions []string      `name:"permissions" sep:"," placeholder:"PERM" help:"What the token may do: read (GET endpoints), pin (pin, unpin, add, recover), admin (everything). Default: all of the user's."`
}

func (c *TokenCmd) Run(g *Globals) error {
	if c.ExpiresIn < 0 {
		return fmt.Errorf("--expires-in %s must be positive", c.ExpiresIn)
	}
	var perms []string
	for _, p := range c.Permissions {
		p = strings.TrimSpace(p)
		switch p {
		case "":
			continue
		case "read", "pin", "admin":
			perms = append(perms, p)
		default:
			return fmt.Errorf("--permissions: unknown permission %q (use read, pin or admin, comma separated)", p)
		}
	}
	if g.BasicAuth == "" && g.BearerToken == "" {
		return fmt.Errorf("pincluster token needs credentials: give --basic-auth USER:PASSWORD (or set CLUSTER_CREDENTIALS)")
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	tok, err := cl.Token(ctx, c.ExpiresIn, perms)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(map[string]string{"token": tok})
	}
	g.printf("%s\n", tok)
	return nil
}
