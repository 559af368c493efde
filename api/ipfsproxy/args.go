package ipfsproxy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pincluster/pincluster/api"
)

// Limits on what a request may carry besides an add or dag/import body.
const (
	maxArgs         = 1000
	maxArgBodyBytes = 1 << 20
)

// query is a request's options, parsed strictly (a malformed query string is a 400, where
// url.URL.Query would drop the bad pair).
type query url.Values

func parseQuery(r *http.Request) (query, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badArg("malformed query string: %v", err)
	}
	return query(q), nil
}

// get is the first value of the first of names that is set (an option's long and short
// names: recursive, r).
func (q query) get(names ...string) (string, bool) {
	for _, n := range names {
		if vs, ok := q[n]; ok && len(vs) > 0 {
			return vs[0], true
		}
	}
	return "", false
}

func (q query) str(names ...string) string {
	v, _ := q.get(names...)
	return v
}

// bool reads a boolean option as go-ipfs-cmds does; a bare key (?progress) is true.
func (q query) bool(def bool, names ...string) (bool, error) {
	v, ok := q.get(names...)
	if !ok {
		return def, nil
	}
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, badArg("could not convert value %q to type \"bool\" (for option \"-%s\")", v, names[0])
	}
	return b, nil
}

// int reads a non-negative integer option (-1 when absent).
func (q query) int(names ...string) (int64, error) {
	v, ok := q.get(names...)
	if !ok {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return -1, badArg("could not convert value %q to a non-negative integer (for option \"-%s\")", v, names[0])
	}
	return n, nil
}

// args are the command's arguments: every arg= of the query, then, for commands whose last
// argument Kubo reads from stdin (pin add, pin rm), the lines of the first file of a multipart
// body (what `echo CID | ipfs pin add` sends). A malformed body is a 400 before anything is done.
func args(r *http.Request, q query, fromBody bool) ([]string, error) {
	out := append([]string(nil), q["arg"]...)
	if fromBody && r.Body != nil && r.ContentLength != 0 {
		mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if strings.HasPrefix(mediaType, "multipart/") {
			if params["boundary"] == "" {
				return nil, badArg("multipart body without a boundary")
			}
			lines, err := bodyArgs(multipart.NewReader(io.LimitReader(r.Body, maxArgBodyBytes+1), params["boundary"]))
			if err != nil {
				return nil, err
			}
			out = append(out, lines...)
		}
	}
	if len(out) > maxArgs {
		return nil, badArg("too many arguments: %d (at most %d per request)", len(out), maxArgs)
	}
	return out, nil
}

// bodyArgs reads the non-empty lines of the first file part.
func bodyArgs(mr *multipart.Reader) ([]string, error) {
	part, err := mr.NextPart()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, badArg("malformed multipart body: %v", err)
	}
	defer part.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(part, maxArgBodyBytes))
	sc.Buffer(make([]byte, 0, 4096), maxArgBodyBytes)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
		if len(out) > maxArgs {
			return nil, badArg("too many arguments in the body (at most %d per request)", maxArgs)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, badArg("malformed multipart body: %v", err)
	}
	// The rest of the body must be well formed too.
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, badArg("malformed multipart body: %v", err)
		}
		p.Close()
	}
}

// ipfsPath is an argument naming content: a CID (bare or /ipfs/<cid>) or a path that the IPFS
// node resolves (/ipfs/<cid>/a/b, /ipld/..., /ipns/...).
type ipfsPath struct {
	cid  api.Cid // defined when the argument is a CID
	path string  // the normalised path otherwise
}

// parsePath checks an argument's syntax as Kubo does (a bare CID, or <cid>/sub/path, is taken as
// /ipfs/...), without any I/O.
func parsePath(s string) (ipfsPath, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ipfsPath{}, badArg("invalid path \"\": empty")
	}
	if !strings.HasPrefix(s, "/") {
		s = "/ipfs/" + s
	}
	segs := strings.Split(strings.Trim(s, "/"), "/")
	if len(segs) < 2 || segs[1] == "" {
		return ipfsPath{}, badArg("invalid path %q: not enough path components", s)
	}
	switch segs[0] {
	case "ipfs", "ipld":
		c, err := api.DecodeCid(segs[1])
		if err != nil {
			return ipfsPath{}, badArg("invalid path %q: %q is not a CID", s, segs[1])
		}
		rest := segs[2:]
		for len(rest) > 0 && rest[len(rest)-1] == "" {
			rest = rest[:len(rest)-1]
		}
		if len(rest) == 0 {
			return ipfsPath{cid: c}, nil
		}
		return ipfsPath{path: "/" + segs[0] + "/" + c.String() + "/" + strings.Join(rest, "/")}, nil
	case "ipns":
		return ipfsPath{path: "/" + strings.Join(segs, "/")}, nil
	}
	return ipfsPath{}, badArg("invalid path %q: unknown namespace %q (use /ipfs/, /ipld/ or /ipns/)", s, "/"+segs[0])
}

// parsePaths checks every argument's syntax; at least one must be given when required.
func parsePaths(argv []string, name string, required bool) ([]ipfsPath, error) {
	if required && len(argv) == 0 {
		return nil, badArg("argument %q is required", name)
	}
	out := make([]ipfsPath, len(argv))
	for i, a := range argv {
		p, err := parsePath(a)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// cidsOf parses the required path arguments argv (named name in errors) and resolves them on
// the node.
func (s *Server) cidsOf(r *http.Request, argv []string, name string) ([]api.Cid, error) {
	ps, err := parsePaths(argv, name, true)
	if err != nil {
		return nil, err
	}
	return resolve(r.Context(), s.d.Node, ps)
}

// resolve returns the CID of each path, asking the node for those that are not CIDs. Nothing is
// changed when one fails.
func resolve(ctx context.Context, n Node, ps []ipfsPath) ([]api.Cid, error) {
	out := make([]api.Cid, len(ps))
	for i, p := range ps {
		if p.cid.Defined() {
			out[i] = p.cid
			continue
		}
		c, err := n.Resolve(ctx, p.path)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", p.path, err)
		}
		out[i] = c
	}
	return out, nil
}
