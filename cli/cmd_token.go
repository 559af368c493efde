package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pincluster/pincluster/api"
)

// TokenCmd groups the bearer token commands: `pincluster token [flags]` (new, the default)
// prints a new token; `token ls` lists every token the cluster issued; `token revoke ID`
// revokes one on every peer.
type TokenCmd struct {
	New    TokenNewCmd    `cmd:"" default:"withargs" help:"Print a new bearer token (the default: pincluster token [flags]); needs --basic-auth."`
	Ls     TokenLsCmd     `cmd:"" help:"List the tokens any peer issued that have not expired: id, user, permissions, issue and expiry, issuing peer, revoked or not (admin). Never the tokens themselves."`
	Revoke TokenRevokeCmd `cmd:"" help:"Revoke a token by its id (from token ls): every peer refuses it from then on (admin)."`
}

// TokenNewCmd is `pincluster token`: it asks the API for a bearer token (POST /token) with
// the --basic-auth credentials and prints it. Scripts then pass it with --token or
// PINCLUSTER_TOKEN; `--enc json` also prints its id, for token revoke.
type TokenNewCmd struct {
	ExpiresIn   *time.Duration `name:"expires-in" placeholder:"DURATION" help:"Lifetime of the token (e.g. 1h, 30m; default: the daemon's api.restapi.token_ttl, 24h)."`
	Permissions []string       `name:"permissions" sep:"," placeholder:"PERM" help:"What the token may do: read (GET endpoints), pin (pin, unpin, add, recover), admin (everything). Default: all of the user's."`
}

func (c *TokenNewCmd) Run(g *Globals) error {
	var ttl time.Duration // 0: the daemon's token_ttl
	if c.ExpiresIn != nil {
		if ttl = *c.ExpiresIn; ttl <= 0 {
			return fmt.Errorf("--expires-in %s must be positive", ttl)
		}
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
	tok, err := cl.IssueToken(ctx, ttl, perms)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(tok)
	}
	g.printf("%s\n", tok.Token)
	return nil
}

// TokenLsCmd is `pincluster token ls`.
type TokenLsCmd struct{}

func (c *TokenLsCmd) Run(g *Globals) error {
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(true)
	defer cancel()
	return cl.Tokens(ctx, func(rec api.TokenRecord) error {
		if g.json() {
			return g.printJSON(rec)
		}
		writeToken(g.io.Out, rec)
		return nil
	})
}

// TokenRevokeCmd is `pincluster token revoke ID`.
type TokenRevokeCmd struct {
	ID string `arg:"" name:"id" help:"Id of the token to revoke (the first column of token ls)."`
}

func (c *TokenRevokeCmd) Run(g *Globals) error {
	id := strings.TrimSpace(c.ID)
	if !api.ValidTokenID(id) {
		return fmt.Errorf("%q is not a token id: ids are %d lowercase hex characters, as the first column of pincluster token ls shows", c.ID, api.TokenIDLen)
	}
	cl, err := g.client()
	if err != nil {
		return err
	}
	ctx, cancel := g.ctx(false)
	defer cancel()
	rec, err := cl.TokenRevoke(ctx, id)
	if err != nil {
		return err
	}
	if g.json() {
		return g.printJSON(rec)
	}
	g.printf("revoked %s (user %s, expires %s)\n", rec.ID, orDash(rec.User), rec.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}

// writeToken prints one token record on one line: id, user, permissions, issue time and
// peer, expiry, and the revocation when there is one.
func writeToken(w io.Writer, r api.TokenRecord) {
	state := "valid"
	if r.Revoked {
		state = "revoked " + r.RevokedAt.UTC().Format(time.RFC3339)
	}
	issued := "-"
	if !r.IssuedAt.IsZero() {
		issued = r.IssuedAt.UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "%s  %-12s %-10s issued %s by %s  expires %s  %s\n", r.ID, orDash(r.User), orDash(strings.Join(r.Permissions, ",")),
		issued, orDash(shortPeer(r.IssuedBy.String())), r.ExpiresAt.UTC().Format(time.RFC3339), state)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortPeer is the end of a peer ID, as IPFS Cluster's CLI shows peers in lists.
func shortPeer(id string) string {
	if len(id) > 12 {
		return "*" + id[len(id)-8:]
	}
	return id
}
