package pinsvc

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pincluster/pincluster/api"
)

// Query is a parsed GET /pins query.
type Query struct {
	Cids   []api.Cid // any of them; empty: any CID
	Name   string    // "" : any name
	Match  string    // api.MatchExact (default), MatchIExact, MatchPartial, MatchIPartial
	Status []string  // any of them; default [pinned]
	Before time.Time // created strictly before; zero: no bound
	After  time.Time // created strictly after; zero: no bound
	Limit  int       // 1 to 1000, default 10
	Meta   map[string]string
}

const (
	defaultLimit = 10
	maxLimit     = 1000
)

var allStatuses = []string{StatusQueued, StatusPinning, StatusPinned, StatusFailed}

// ParseQuery reads the query of GET /pins as the spec defines it. Lists (cid, status) may be
// comma-separated, repeated, or both; the other parameters may appear once. Unknown
// parameters are ignored. Errors wrap api.ErrInvalid and say what to change.
func ParseQuery(v url.Values) (Query, error) {
	q := Query{Match: api.MatchExact, Limit: defaultLimit}
	bad := func(format string, a ...any) (Query, error) {
		return Query{}, fmt.Errorf("%w: "+format, append([]any{api.ErrInvalid}, a...)...)
	}
	for _, k := range []string{"name", "match", "before", "after", "limit", "meta"} {
		if len(v[k]) > 1 {
			return bad("%s given %d times: give it once", k, len(v[k]))
		}
	}
	if vals, ok := v["cid"]; ok {
		items := splitList(vals)
		if len(items) > maxCids {
			return bad("cid lists %d CIDs, over the limit of %d", len(items), maxCids)
		}
		for _, s := range items {
			if s == "" {
				return bad("cid: empty item in %q", strings.Join(vals, ","))
			}
			c, err := api.DecodeCid(s)
			if err != nil {
				return bad("cid: %q is not a valid CID", s)
			}
			if !containsCid(q.Cids, c) {
				q.Cids = append(q.Cids, c)
			}
		}
	}
	q.Name = v.Get("name")
	if len(q.Name) > api.MaxPinNameBytes {
		return bad("name is %d bytes, over the limit of %d", len(q.Name), api.MaxPinNameBytes)
	}
	if !utf8.ValidString(q.Name) {
		return bad("name is not valid UTF-8")
	}
	if m := v.Get("match"); m != "" {
		switch m {
		case api.MatchExact, api.MatchIExact, api.MatchPartial, api.MatchIPartial:
			q.Match = m
		default:
			return bad("match %q: use exact, iexact, partial or ipartial", m)
		}
	}
	q.Status = []string{StatusPinned}
	if vals, ok := v["status"]; ok {
		q.Status = nil
		for _, s := range splitList(vals) {
			if !slices.Contains(allStatuses, s) {
				return bad("status %q: use queued, pinning, pinned or failed (a comma-separated list)", s)
			}
			if !slices.Contains(q.Status, s) {
				q.Status = append(q.Status, s)
			}
		}
	}
	var err error
	for _, t := range []struct {
		key string
		to  *time.Time
	}{{"before", &q.Before}, {"after", &q.After}} {
		s := v.Get(t.key)
		if s == "" {
			continue
		}
		if *t.to, err = parseTime(s); err != nil {
			return bad("%s %q is not an RFC 3339 timestamp (e.g. 2020-07-27T17:32:28.276Z)", t.key, s)
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return bad("limit %q: must be an integer from 1 to %d", s, maxLimit)
		}
		q.Limit = n
	}
	if s := v.Get("meta"); s != "" {
		var m map[string]string
		if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
			return bad("meta %q: must be a JSON object of strings, e.g. {\"app_id\":\"42\"}", s)
		}
		q.Meta = m
	}
	return q, nil
}

// splitList reads a list parameter: comma-separated items in one or more values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// parseTime reads an RFC 3339 timestamp; a space where the offset's '+' was (an unescaped '+'
// in a query string decodes as a space) is read as '+'.
func parseTime(s string) (time.Time, error) {
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		s = s[:i] + "+" + s[i+1:]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Year() < 1970 || t.Year() > 2261 {
		return time.Time{}, fmt.Errorf("year %d out of range", t.Year())
	}
	return t.UTC(), nil
}

// matches reports whether request e of c, created at created, passes every filter but status
// and before (the walk starts at before).
func (q Query) matches(c api.Cid, e entry) bool {
	if len(q.Cids) > 0 && !containsCid(q.Cids, c) {
		return false
	}
	if !q.After.IsZero() && !e.Created.After(q.After) {
		return false
	}
	pq := api.PinQuery{Name: q.Name, NameMatch: q.Match, Meta: q.Meta}
	return pq.Matches(api.PinFields{Name: e.Name, Metadata: e.Meta})
}

// anyStatus reports whether the status filter lets every status through.
func (q Query) anyStatus() bool { return len(q.Status) == len(allStatuses) }

func containsCid(cids []api.Cid, c api.Cid) bool {
	return slices.ContainsFunc(cids, func(x api.Cid) bool { return x.Equals(c.Cid) })
}
