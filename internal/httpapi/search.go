package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/scimd/scimd/internal/scim"
)

// POST /.search (RFC 7644 §3.4.3): "The body of the POST request MAY include any of the
// parameters defined in Section 3.4.2", and the response is the one of a GET query. The
// body is turned into the query string of that GET and handed to the list handler, so
// that a search and a GET with the same parameters cannot answer differently.

// searchParams are the SearchRequest attributes with the spelling the list handlers read
// them in; a body names them in any case (RFC 7643 §2.1: attribute names are
// case-insensitive).
var searchParams = []string{"attributes", "excludedAttributes", "filter", "sortBy", "sortOrder", "startIndex", "count", "cursor"}

// searchQuery reads a SearchRequest body into the query parameters of the equivalent GET.
func (s *Server) searchQuery(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	body, err := s.readBody(w, r)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	hasSchema := false
	for key, v := range body {
		if strings.EqualFold(key, "schemas") {
			list, _ := v.([]any)
			for _, u := range list {
				if u, _ := u.(string); strings.EqualFold(u, scim.SearchRequestSchema) {
					hasSchema = true
				}
			}
			continue
		}
		name := key
		for _, p := range searchParams {
			if strings.EqualFold(key, p) {
				name = p
			}
		}
		if q.Has(name) {
			return nil, scim.InvalidSyntax("%q is given twice", name)
		}
		val, ok, err := searchValue(name, v)
		if err != nil {
			return nil, err
		}
		if ok {
			q.Set(name, val)
		}
	}
	// RFC 7644 §3.4.3: "Query requests MUST be identified using the following URI:
	// "urn:ietf:params:scim:api:messages:2.0:SearchRequest"".
	if !hasSchema {
		return nil, scim.InvalidSyntax("schemas must contain %q", scim.SearchRequestSchema)
	}
	return q, nil
}

// searchValue renders one body attribute as the query parameter a GET would carry.
// Attributes this server does not know pass through when they have a query-parameter
// shape, as unknown query parameters of a GET do; null means absent.
func searchValue(name string, v any) (string, bool, error) {
	switch name {
	case "startIndex", "count":
		n, ok := v.(json.Number)
		if v == nil {
			return "", false, nil
		}
		if !ok {
			return "", false, scim.InvalidValue("%s must be an integer, got %s", name, mustMarshal(v))
		}
		return n.String(), true, nil
	case "filter", "sortBy", "sortOrder", "cursor":
		str, ok := v.(string)
		if v == nil {
			return "", false, nil
		}
		if !ok {
			return "", false, scim.InvalidValue("%s must be a string, got %s", name, mustMarshal(v))
		}
		return str, true, nil
	}
	switch v := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return v, true, nil
	case json.Number:
		return v.String(), true, nil
	case bool:
		return strconv.FormatBool(v), true, nil
	case []any:
		// attributes and excludedAttributes are lists in a body (RFC 7644 §3.4.3) and
		// comma-separated in a query string (§3.9).
		items := make([]string, len(v))
		for i, x := range v {
			str, ok := x.(string)
			if !ok {
				return "", false, scim.InvalidValue("%s must be a list of strings, got %s", name, mustMarshal(v))
			}
			items[i] = str
		}
		return strings.Join(items, ","), true, nil
	}
	return "", false, scim.InvalidValue("%s must be a string or a list of strings, got %s", name, mustMarshal(v))
}

func mustMarshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%T", v)
	}
	return string(b)
}

// asList turns r into the GET request of endpoint with query q, for a list handler.
func asList(r *http.Request, endpoint string, q url.Values) *http.Request {
	lr := r.Clone(r.Context())
	lr.Method = http.MethodGet
	lr.URL.Path = Prefix + endpoint
	lr.URL.RawPath = ""
	lr.URL.RawQuery = q.Encode()
	lr.RequestURI = lr.URL.RequestURI()
	lr.Body = http.NoBody
	lr.ContentLength = 0
	return lr
}

func (s *Server) searchUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := s.searchQuery(w, r)
	if err != nil {
		return err
	}
	return s.listUsers(w, asList(r, "/Users", q))
}

func (s *Server) searchGroups(w http.ResponseWriter, r *http.Request) error {
	q, err := s.searchQuery(w, r)
	if err != nil {
		return err
	}
	return s.listGroups(w, asList(r, "/Groups", q))
}

// searchRoot is a query against the server root, over every resource type (RFC 7644
// §3.4.2.1: "A query against a server root indicates that all resources within the server
// SHALL be included, subject to filtering"). The result is the users in their list order,
// then the groups in theirs; totalResults counts both and startIndex and count page across
// the two as one sequence. Each part is answered by the type's own list handler.
func (s *Server) searchRoot(w http.ResponseWriter, r *http.Request) error {
	q, err := s.searchQuery(w, r)
	if err != nil {
		return err
	}
	return s.queryRoot(w, r, q)
}

// listRoot is GET on the server root with query parameters: the same query as POST
// /.search with a body (RFC 7644 §3.4.2.1 names both).
func (s *Server) listRoot(w http.ResponseWriter, r *http.Request) error {
	return s.queryRoot(w, r, r.URL.Query())
}

func (s *Server) queryRoot(w http.ResponseWriter, r *http.Request, q url.Values) error {
	// Neither has a meaning across two lists answered one after the other: a sort would
	// have to merge them, and a cursor would have to name a position in both.
	// (An empty cursor asks for the first page of a cursor-paged list: present is enough.)
	for p, given := range map[string]bool{"sortBy": q.Get("sortBy") != "", "cursor": q.Has("cursor")} {
		if given {
			return scim.InvalidValue("%s is not supported in a search across resource types: search /Users/.search or /Groups/.search", p)
		}
	}
	filter := q.Get("filter")
	q.Del("filter")
	ts := s.typesOf(r.Context())
	// The list handlers' own reading of startIndex and count (defaults, bounds, maxResults).
	page, err := s.listParams(asList(r, "/Users", q), ts.users)
	if err != nil {
		return err
	}
	parts := []struct {
		endpoint string
		rt       *scim.ResourceType
		list     handlerFunc
	}{{"/Users", ts.users, s.listUsers}, {"/Groups", ts.groups, s.listGroups}}
	filters := make([]string, len(parts))
	skip := make([]bool, len(parts))
	if filter != "" {
		f, err := scim.ParseFilterWithLimits(filter, s.opts.FilterLimits)
		if err != nil {
			return err
		}
		if err := knownToAny(f, ts.users, ts.groups); err != nil {
			return err
		}
		for i, p := range parts {
			pruned, constant := pruneFilter(f, p.rt)
			switch {
			case pruned != nil:
				filters[i] = renderFilter(pruned)
			case !constant:
				skip[i] = true // the filter is false for every resource of this type
			}
		}
	}
	total, start, remaining := 0, page.StartIndex, page.Count
	var items []json.RawMessage
	for i, p := range parts {
		if skip[i] {
			continue
		}
		pq := url.Values{}
		for k, v := range q {
			pq[k] = v
		}
		if filters[i] != "" {
			pq.Set("filter", filters[i])
		}
		// Past the users, the groups' own numbering starts where theirs ended.
		pq.Set("startIndex", strconv.Itoa(max(1, start-total)))
		pq.Set("count", strconv.Itoa(remaining))
		rec := newRecorder()
		if err := p.list(rec, asList(r, p.endpoint, pq)); err != nil {
			return err
		}
		var part struct {
			TotalResults int               `json:"totalResults"`
			Resources    []json.RawMessage `json:"Resources"`
		}
		if err := json.Unmarshal(rec.body.Bytes(), &part); err != nil || rec.status != http.StatusOK {
			return fmt.Errorf("search %s: status %d: %v", p.endpoint, rec.status, err)
		}
		total += part.TotalResults
		items = append(items, part.Resources...)
		remaining -= len(part.Resources)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":      []string{scim.ListResponseSchema},
		"totalResults": total,
		"itemsPerPage": len(items),
		"startIndex":   page.StartIndex,
		"Resources":    items,
	})
	return nil
}

// recorder is an in-memory ResponseWriter, for running a handler whose response the
// server uses itself (a search part, a bulk operation).
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// reset discards what a handler wrote before it failed.
func (r *recorder) reset() {
	r.header = http.Header{}
	r.status = 0
	r.body.Reset()
}

// knownTo reports whether the attribute a filter path starts with exists in rt (the
// common attributes, the core schema or an extension, and "schemas", which every resource
// has).
func knownTo(rt *scim.ResourceType, p scim.AttrPath) bool {
	if p.URN == "" && p.Sub == "" && strings.EqualFold(p.Name, "schemas") {
		return true
	}
	return rt.FindAttr(p.URN, p.Name) != nil
}

// knownToAny refuses a filter naming an attribute that no resource type has, as a GET on
// either endpoint would.
func knownToAny(f scim.Filter, types ...*scim.ResourceType) error {
	var err error
	walkLeaves(f, func(p scim.AttrPath) {
		for _, rt := range types {
			if knownTo(rt, p) {
				return
			}
		}
		if err == nil {
			err = scim.InvalidFilter("unknown attribute %q in filter: no resource type defines it", p.String())
		}
	})
	return err
}

func walkLeaves(f scim.Filter, fn func(scim.AttrPath)) {
	switch f := f.(type) {
	case *scim.AndFilter:
		walkLeaves(f.Left, fn)
		walkLeaves(f.Right, fn)
	case *scim.OrFilter:
		walkLeaves(f.Left, fn)
		walkLeaves(f.Right, fn)
	case *scim.NotFilter:
		walkLeaves(f.X, fn)
	case *scim.CompareFilter:
		fn(f.Path)
	case *scim.PresentFilter:
		fn(f.Path)
	case *scim.ValuePathFilter:
		fn(f.Path)
	}
}

// pruneFilter specialises a filter to one resource type: a comparison on an attribute the
// type does not have is false there, as it is for a resource that has no value for it.
// It returns the remaining filter, or nil and the constant the whole filter reduced to.
func pruneFilter(f scim.Filter, rt *scim.ResourceType) (scim.Filter, bool) {
	switch f := f.(type) {
	case *scim.AndFilter:
		l, lc := pruneFilter(f.Left, rt)
		r, rc := pruneFilter(f.Right, rt)
		switch {
		case l == nil && !lc, r == nil && !rc:
			return nil, false
		case l == nil:
			return r, rc
		case r == nil:
			return l, lc
		}
		return &scim.AndFilter{Left: l, Right: r}, false
	case *scim.OrFilter:
		l, lc := pruneFilter(f.Left, rt)
		r, rc := pruneFilter(f.Right, rt)
		switch {
		case l == nil && lc, r == nil && rc:
			return nil, true
		case l == nil:
			return r, rc
		case r == nil:
			return l, lc
		}
		return &scim.OrFilter{Left: l, Right: r}, false
	case *scim.NotFilter:
		x, c := pruneFilter(f.X, rt)
		if x == nil {
			return nil, !c
		}
		return &scim.NotFilter{X: x}, false
	case *scim.CompareFilter:
		if !knownTo(rt, f.Path) {
			return nil, false
		}
	case *scim.PresentFilter:
		if !knownTo(rt, f.Path) {
			return nil, false
		}
	case *scim.ValuePathFilter:
		if !knownTo(rt, f.Path) {
			return nil, false
		}
	}
	return f, false
}

// renderFilter writes a filter back as filter text. It adds parentheses only where the
// grammar needs them (an "or" inside an "and"), so that the text is no deeper than the
// filter the client sent: it is parsed again, under the same limits.
func renderFilter(f scim.Filter) string {
	var b strings.Builder
	writeFilter(&b, f)
	return b.String()
}

func writeFilter(b *strings.Builder, f scim.Filter) {
	switch f := f.(type) {
	case *scim.AndFilter:
		// "and" binds tighter than "or" (RFC 7644 §3.4.2.2): an "or" operand needs
		// parentheses, anything else does not.
		for i, x := range []scim.Filter{f.Left, f.Right} {
			if i > 0 {
				b.WriteString(" and ")
			}
			if _, isOr := x.(*scim.OrFilter); isOr {
				b.WriteByte('(')
				writeFilter(b, x)
				b.WriteByte(')')
			} else {
				writeFilter(b, x)
			}
		}
	case *scim.OrFilter:
		writeFilter(b, f.Left)
		b.WriteString(" or ")
		writeFilter(b, f.Right)
	case *scim.NotFilter:
		b.WriteString("not (")
		writeFilter(b, f.X)
		b.WriteByte(')')
	case *scim.CompareFilter:
		b.WriteString(f.Path.String())
		b.WriteByte(' ')
		b.WriteString(string(f.Op))
		b.WriteByte(' ')
		writeFilterValue(b, f.Value)
	case *scim.PresentFilter:
		b.WriteString(f.Path.String())
		b.WriteString(" pr")
	case *scim.ValuePathFilter:
		b.WriteString(f.Path.String())
		b.WriteByte('[')
		writeFilter(b, f.Filter)
		b.WriteByte(']')
	}
}

func writeFilterValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		b.WriteString(v.String())
	default:
		// Strings, and anything else as the JSON the parser reads back (without HTML
		// escapes, which would only make it longer).
		var enc bytes.Buffer
		e := json.NewEncoder(&enc)
		e.SetEscapeHTML(false)
		e.Encode(v)
		b.Write(bytes.TrimRight(enc.Bytes(), "\n"))
	}
}
