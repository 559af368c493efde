// Package client is the Go client of pincluster's REST API, which follows IPFS Cluster's paths,
// query parameters and JSON shapes. The CLI (package cli) is its main user.
//
//	c, err := client.New(client.Config{Hosts: []string{"/ip4/127.0.0.1/tcp/9094"}})
//	pin, err := c.Pin(ctx, cid, api.PinOptions{Name: "site"})
//	err = c.StatusAll(ctx, "error", false, nil, func(g api.GlobalPinInfo) error { ...; return nil })
//
// Authentication: Config.Username/Password send basic auth; Config.Token sends a bearer token,
// which Client.Token(ctx, expiresIn, perms) obtains from POST /token.
//
// Hosts are tried in order: a connection failure (refused, unreachable, DNS) moves to the next
// host, and the client keeps using the host that answered. Errors returned by the API are
// api.Error values carrying the HTTP code; a stream that fails after it started reports the
// X-Stream-Error trailer as an api.Error too. Timeouts (Config.Timeout or the caller's context)
// wrap context.DeadlineExceeded.
package client
