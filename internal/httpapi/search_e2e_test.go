package httpapi_test

// End-to-end tests of POST /.search (RFC 7644 §3.4.3) over HTTP on every backend: on
// /Users and /Groups it answers exactly what the GET with the same parameters answers; at
// the root it lists users then groups, one filter applied to each type.

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// searchBody is a SearchRequest with the given attributes.
func searchBody(kv ...any) map[string]any {
	m := map[string]any{"schemas": []string{scim.SearchRequestSchema}}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// searchWorld is a tenant with users and groups to search.
type searchWorld struct {
	c                *scimclient.Client
	users, groups    []string // ids in creation order
	alice, bob, carl string
	admins, staff    string
}

func newSearchWorld(t *testing.T, srv *storetest.Server, tenant string) *searchWorld {
	t.Helper()
	w := &searchWorld{c: newClient(t, srv, tenant)}
	for _, u := range []map[string]any{
		userBody("alice", map[string]any{"displayName": "Alice A", "title": "Engineer", "emails": []any{map[string]any{"value": "alice@example.com", "type": "work"}}}),
		userBody("bob", map[string]any{"displayName": "Staff", "active": false}),
		userBody(`carl "the <quoted>"`, map[string]any{"displayName": "Carl"}),
	} {
		w.users = append(w.users, idOf(t, createUser(t, w.c, u)))
	}
	w.alice, w.bob, w.carl = w.users[0], w.users[1], w.users[2]
	for _, g := range []map[string]any{
		{"schemas": []string{scim.GroupSchema}, "displayName": "Admins", "members": []any{map[string]any{"value": w.alice}}},
		{"schemas": []string{scim.GroupSchema}, "displayName": "Staff", "externalId": "ext-staff", "members": []any{map[string]any{"value": w.alice}, map[string]any{"value": w.bob}}},
	} {
		w.groups = append(w.groups, idOf(t, mustDo(t, w.c, http.MethodPost, "/Groups", g, http.StatusCreated)))
	}
	w.admins, w.staff = w.groups[0], w.groups[1]
	return w
}

// TestSearchMatchesGet: POST /Users/.search and /Groups/.search answer byte for byte what
// the GET with the same parameters answers, for every parameter.
func TestSearchMatchesGet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		w := newSearchWorld(t, srv, "search-get")
		cases := []struct {
			endpoint string
			query    url.Values
			body     map[string]any
		}{
			{"/Users", url.Values{}, searchBody()},
			{"/Users", url.Values{"filter": {`userName eq "bob"`}}, searchBody("filter", `userName eq "bob"`)},
			{"/Users", url.Values{"filter": {`emails[type eq "work" and value co "@example"]`}}, searchBody("filter", `emails[type eq "work" and value co "@example"]`)},
			{"/Users", url.Values{"startIndex": {"2"}, "count": {"1"}}, searchBody("startIndex", 2, "count", 1)},
			{"/Users", url.Values{"startIndex": {"-4"}, "count": {"0"}}, searchBody("startIndex", -4, "count", 0)},
			{"/Users", url.Values{"count": {"100000"}}, searchBody("count", 100000)},
			{"/Users", url.Values{"attributes": {"userName,emails.value"}}, searchBody("attributes", []any{"userName", "emails.value"})},
			{"/Users", url.Values{"excludedAttributes": {"groups,meta"}}, searchBody("excludedAttributes", []any{"groups", "meta"})},
			{"/Users", url.Values{"sortBy": {"displayName"}, "sortOrder": {"descending"}}, searchBody("sortBy", "displayName", "sortOrder", "descending")},
			{"/Users", url.Values{"cursor": {""}, "count": {"2"}, "sortBy": {"userName"}}, searchBody("cursor", "", "count", 2, "sortBy", "userName")},
			{"/Groups", url.Values{"sortBy": {"displayName"}, "sortOrder": {"descending"}}, searchBody("sortBy", "displayName", "sortOrder", "descending")},
			{"/Users", url.Values{"attributes": {"userName"}}, searchBody("attributes", "userName")},
			// Attribute names are case-insensitive (RFC 7643 §2.1), in a body as anywhere.
			{"/Users", url.Values{"filter": {`active eq false`}, "count": {"5"}}, searchBody("FILTER", `active eq false`, "Count", 5)},
			{"/Users", url.Values{}, searchBody("filter", nil, "attributes", nil)},
			{"/Groups", url.Values{}, searchBody()},
			{"/Groups", url.Values{"filter": {`displayName eq "staff"`}, "excludedAttributes": {"members"}}, searchBody("filter", `displayName eq "staff"`, "excludedAttributes", []any{"members"})},
			{"/Groups", url.Values{"filter": {`members[value eq "` + w.bob + `"]`}}, searchBody("filter", `members[value eq "`+w.bob+`"]`)},
			{"/Groups", url.Values{"startIndex": {"2"}}, searchBody("startIndex", 2)},
		}
		for i, tc := range cases {
			t.Run(strconv.Itoa(i)+tc.endpoint, func(t *testing.T) {
				get := do(t, w.c, http.MethodGet, tc.endpoint+"?"+strings.ReplaceAll(tc.query.Encode(), "+", "%20"), nil)
				post := do(t, w.c, http.MethodPost, tc.endpoint+"/.search", tc.body)
				if tc.query.Has("cursor") {
					// A cursor-paged list has no startIndex (RFC 9865).
					expectStatus(t, get, http.StatusOK)
					expectStatus(t, post, http.StatusOK)
				} else {
					expectList(t, get)
					expectList(t, post)
				}
				if !bytes.Equal(get.Body, post.Body) {
					t.Fatalf("POST %s/.search %s\n answered %s\n GET answered %s", tc.endpoint, mustJSON(tc.body), clip(post.Body), clip(get.Body))
				}
			})
		}
		// The answers are those of the filter, not all resources.
		expectIDs(t, expectList(t, do(t, w.c, http.MethodPost, "/Users/.search", searchBody("filter", `userName eq "bob"`))), w.bob)
		expectIDs(t, expectList(t, do(t, w.c, http.MethodPost, "/Groups/.search", searchBody("filter", `members[value eq "`+w.bob+`"]`))), w.staff)
		// A cursor in a body is checked like one in a query string.
		expectError(t, do(t, w.c, http.MethodPost, "/Users/.search", searchBody("cursor", "bogus")), http.StatusBadRequest, scim.ErrInvalidCursor)
	})
}

// TestSearchErrors: a malformed SearchRequest is a 400 naming the problem, and an error
// of the parameters themselves is the GET's error.
func TestSearchErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "search-errors")
		createUser(t, c, userBody("someone", nil))
		for _, endpoint := range []string{"/Users/.search", "/Groups/.search", "/.search"} {
			cases := []struct {
				name     string
				body     any
				status   int
				scimType string
			}{
				{"no schemas", map[string]any{"filter": `userName eq "x"`}, 400, scim.ErrInvalidSyntax},
				{"wrong schema", map[string]any{"schemas": []string{scim.ListResponseSchema}}, 400, scim.ErrInvalidSyntax},
				{"not JSON", `{"schemas":[`, 400, scim.ErrInvalidSyntax},
				{"not an object", `["x"]`, 400, scim.ErrInvalidSyntax},
				{"count a string", searchBody("count", "10"), 400, scim.ErrInvalidValue},
				{"startIndex a fraction", searchBody("startIndex", 1.5), 400, scim.ErrInvalidValue},
				{"filter a number", searchBody("filter", 3), 400, scim.ErrInvalidValue},
				{"attributes of numbers", searchBody("attributes", []any{1, 2}), 400, scim.ErrInvalidValue},
				{"attributes an object", searchBody("attributes", map[string]any{}), 400, scim.ErrInvalidValue},
				{"given twice", searchBody("count", 1, "COUNT", 2), 400, scim.ErrInvalidSyntax},
				{"bad filter", searchBody("filter", `userName eq`), 400, scim.ErrInvalidFilter},
				{"unknown attribute", searchBody("filter", `nosuch eq "x"`), 400, scim.ErrInvalidFilter},
				{"sortBy unknown", searchBody("sortBy", "nosuch"), 400, scim.ErrInvalidValue},
				{"sortOrder unknown", searchBody("sortBy", "meta.created", "sortOrder", "up"), 400, scim.ErrInvalidValue},
			}
			for _, tc := range cases {
				t.Run(endpoint+"/"+tc.name, func(t *testing.T) {
					expectError(t, do(t, c, http.MethodPost, endpoint, tc.body), tc.status, tc.scimType)
				})
			}
			t.Run(endpoint+"/media type", func(t *testing.T) {
				expectError(t, doWith(t, c, http.MethodPost, endpoint, searchBody(), hdr("Content-Type", "text/plain")), http.StatusUnsupportedMediaType, "")
			})
			t.Run(endpoint+"/unauthenticated", func(t *testing.T) {
				expectError(t, send(t, c, scimclient.Request{Method: http.MethodPost, Path: endpoint, Body: searchBody(), NoAuth: true}), http.StatusUnauthorized, "")
			})
		}
		// .search is a POST: a GET of it is a GET of a resource that does not exist.
		expectError(t, do(t, c, http.MethodGet, "/Users/.search", nil), http.StatusNotFound, "")
	})
}

// TestSearchRoot: a search of the server root lists the users, then the groups, and pages
// across both (RFC 7644 §3.4.2.1: "A query against a server root indicates that all
// resources within the server SHALL be included, subject to filtering").
func TestSearchRoot(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		w := newSearchWorld(t, srv, "search-root")
		// Another tenant's resources are never seen nor counted (the totals below).
		newSearchWorld(t, srv, "search-root-other")
		all := append(append([]string(nil), w.users...), w.groups...)
		root := func(t *testing.T, body map[string]any) list {
			t.Helper()
			return expectList(t, do(t, w.c, http.MethodPost, "/.search", body))
		}
		expectOrder := func(t *testing.T, l list, total, start int, want ...string) {
			t.Helper()
			if got := ids(l.Resources); strings.Join(got, ",") != strings.Join(want, ",") || l.Total != total || l.StartIndex != start {
				t.Fatalf("got %v (totalResults %d, startIndex %d), want %v (%d, %d)", got, l.Total, l.StartIndex, want, total, start)
			}
		}

		t.Run("paging", func(t *testing.T) {
			for _, tc := range []struct {
				startIndex, count any
				start             int
				want              []string
			}{
				{nil, nil, 1, all},
				{1, 2, 1, all[0:2]},
				{2, 2, 2, all[1:3]},
				{3, 2, 3, all[2:4]}, // the last user, then the first group
				{4, 5, 4, all[3:5]}, // groups only
				{5, 1, 5, all[4:5]},
				{6, 10, 6, nil},
				{0, 3, 1, all[0:3]},  // below 1 is 1
				{2, -1, 2, nil},      // negative is 0
				{2, 0, 2, nil},       // a count of 0 still counts
				{1, 4, 1, all[0:4]},  // page ends within the groups
				{3, 1, 3, all[2:3]},  // page ends at the last user
				{4, 1, 4, all[3:4]},  // page starts at the first group
				{100, 1, 100, nil},   // past the end
				{-7, nil, 1, all[:]}, // defaults
			} {
				body := searchBody()
				if tc.startIndex != nil {
					body["startIndex"] = tc.startIndex
				}
				if tc.count != nil {
					body["count"] = tc.count
				}
				l := root(t, body)
				expectOrder(t, l, len(all), tc.start, tc.want...)
			}
			// A paged walk returns each resource exactly once, users first.
			var walked []string
			for start := 1; start <= len(all); start += 2 {
				walked = append(walked, ids(root(t, searchBody("startIndex", start, "count", 2)).Resources)...)
			}
			if strings.Join(walked, ",") != strings.Join(all, ",") {
				t.Fatalf("paged walk %v, want %v", walked, all)
			}
		})

		// RFC 7644 §3.4.2.1: GET on the root with query parameters is the same query as
		// POST /.search with a body.
		t.Run("GET root", func(t *testing.T) {
			for _, q := range []url.Values{
				{},
				{"startIndex": {"3"}, "count": {"2"}},
				{"filter": {`displayName eq "Staff"`}, "attributes": {"displayName"}},
			} {
				body := searchBody()
				for k, v := range q {
					switch k {
					case "startIndex", "count":
						n, _ := strconv.Atoi(v[0])
						body[k] = n
					case "attributes":
						body[k] = []any{v[0]}
					default:
						body[k] = v[0]
					}
				}
				get := do(t, w.c, http.MethodGet, "/?"+strings.ReplaceAll(q.Encode(), "+", "%20"), nil)
				post := do(t, w.c, http.MethodPost, "/.search", body)
				expectList(t, get)
				if !bytes.Equal(get.Body, post.Body) {
					t.Fatalf("GET /?%s answered\n%s\nPOST /.search answered\n%s", q.Encode(), clip(get.Body), clip(post.Body))
				}
			}
		})

		t.Run("filter", func(t *testing.T) {
			for _, tc := range []struct {
				filter string
				want   []string
			}{
				// Attributes of both types apply to both.
				{`displayName eq "Staff"`, []string{w.bob, w.staff}},
				{`id eq "` + w.admins + `"`, []string{w.admins}},
				{`schemas eq "` + scim.GroupSchema + `"`, w.groups},
				// An attribute one type lacks matches nothing of that type.
				{`userName sw "a"`, []string{w.alice}},
				{`members pr`, w.groups},
				{`externalId pr`, []string{w.staff}},
				// ... even inside a larger expression: the rest still applies.
				{`userName eq "bob" or displayName eq "Admins"`, []string{w.bob, w.admins}},
				{`userName eq "bob" or members[value eq "` + w.bob + `"]`, []string{w.bob, w.staff}},
				{`displayName sw "A" and not (userName pr)`, []string{w.admins}},
				{`not (userName eq "alice")`, []string{w.bob, w.carl, w.admins, w.staff}},
				{`active eq false or (members.value eq "` + w.alice + `" and displayName ne "Staff")`, []string{w.bob, w.admins}},
				{`urn:ietf:params:scim:schemas:core:2.0:User:title eq "Engineer" or urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Admins"`, []string{w.alice, w.admins}},
				// Values written back into a filter keep their escapes.
				{`userName eq "carl \"the <quoted>\""`, []string{w.carl}},
				{`USERNAME EQ "ALICE" OR DisplayName Eq "admins"`, []string{w.alice, w.admins}},
			} {
				t.Run(tc.filter, func(t *testing.T) {
					l := root(t, searchBody("filter", tc.filter))
					expectOrder(t, l, len(tc.want), 1, tc.want...)
				})
			}
			// Paging applies to the filtered sequence.
			expectOrder(t, root(t, searchBody("filter", `displayName eq "Staff"`, "startIndex", 2, "count", 1)), 2, 2, w.staff)
			// Unknown to every type, a wrong value type, or bad syntax is the GET's error.
			for _, f := range []string{`nosuch eq "x"`, `userName eq "a" or nosuch pr`, `active eq "maybe"`, `members.nosuch eq "x"`, `userName eq`} {
				expectError(t, do(t, w.c, http.MethodPost, "/.search", searchBody("filter", f)), http.StatusBadRequest, scim.ErrInvalidFilter)
			}
		})

		t.Run("projection", func(t *testing.T) {
			l := root(t, searchBody("attributes", []any{"displayName"}, "count", 5))
			for _, r := range l.Resources {
				if r["displayName"] == nil {
					t.Fatalf("%v: no displayName", r)
				}
				expectAbsent(t, r, "userName", "members", "emails", "meta")
			}
			l = root(t, searchBody("excludedAttributes", []any{"members", "groups"}))
			for _, r := range l.Resources {
				expectAbsent(t, r, "members", "groups")
			}
			if len(l.Resources) != len(all) {
				t.Fatalf("%d resources, want %d", len(l.Resources), len(all))
			}
		})

		t.Run("across types only", func(t *testing.T) {
			expectError(t, do(t, w.c, http.MethodPost, "/.search", searchBody("sortBy", "displayName")), http.StatusBadRequest, scim.ErrInvalidValue)
			expectError(t, do(t, w.c, http.MethodPost, "/.search", searchBody("cursor", "")), http.StatusBadRequest, scim.ErrInvalidValue)
		})
	})
}
