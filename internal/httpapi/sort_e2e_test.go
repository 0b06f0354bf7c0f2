package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// sortUsers are created in this order; their attributes are chosen so that each sortBy
// below gives a different order, with missing values and letter case in play.
var sortUsers = []map[string]any{
	{"userName": "delta", "name": map[string]any{"familyName": "Zeta"}, "title": "b",
		"emails": []any{map[string]any{"value": "m@x.org"}, map[string]any{"value": "a@x.org", "primary": true}},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Sales"}},
	{"userName": "Alpha", "name": map[string]any{"familyName": "yates"}, "externalId": "b",
		"emails": []any{map[string]any{"value": "z@x.org"}}},
	{"userName": "charlie", "title": "A", "externalId": "B",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "eng"}},
	{"userName": "Bravo", "name": map[string]any{"familyName": "adams"}, "title": "c", "active": false,
		"emails": []any{map[string]any{"value": "k@x.org", "primary": false}, map[string]any{"value": "c@x.org"}}},
	// An empty title is no value (RFC 7643 §2.5): it sorts with the missing ones.
	{"userName": "echo", "name": map[string]any{"familyName": "Adams"}, "externalId": "a", "title": ""},
}

// TestSortBy checks RFC 7644 §3.4.2.3 on every backend: case-insensitive order for
// caseExact false, byte order for caseExact true, missing values last ascending and first
// descending, multi-valued attributes by their primary (else first) value, ties broken by
// creation so that paging is stable.
func TestSortBy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "sort")
		for _, u := range sortUsers {
			body := map[string]any{"schemas": []any{scim.UserSchema, scim.EnterpriseUserSchema}}
			for k, v := range u {
				body[k] = v
			}
			createUser(t, c, body)
		}
		cases := []struct {
			sortBy string
			want   []string // ascending order of userNames
		}{
			{"userName", []string{"Alpha", "Bravo", "charlie", "delta", "echo"}},
			{"USERNAME", []string{"Alpha", "Bravo", "charlie", "delta", "echo"}},
			{"urn:ietf:params:scim:schemas:core:2.0:User:userName", []string{"Alpha", "Bravo", "charlie", "delta", "echo"}},
			// Adams and adams tie (case-insensitive): creation order breaks it.
			{"name.familyName", []string{"Bravo", "echo", "Alpha", "delta", "charlie"}},
			{"title", []string{"charlie", "delta", "Bravo", "Alpha", "echo"}},
			// caseExact: "B" < "a" < "b" in byte order.
			{"externalId", []string{"charlie", "echo", "Alpha", "delta", "Bravo"}},
			// delta's primary is a@, Bravo has no primary true: its first value k@.
			{"emails", []string{"delta", "Bravo", "Alpha", "charlie", "echo"}},
			{"emails.value", []string{"delta", "Bravo", "Alpha", "charlie", "echo"}},
			{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", []string{"charlie", "delta", "Alpha", "Bravo", "echo"}},
			{"active", []string{"Bravo", "delta", "Alpha", "charlie", "echo"}},
			{"meta.created", []string{"delta", "Alpha", "charlie", "Bravo", "echo"}},
		}
		for _, tc := range cases {
			asc := listUserNames(t, c, "/Users?sortBy="+url.QueryEscape(tc.sortBy))
			if !slices.Equal(asc, tc.want) {
				t.Errorf("sortBy=%s: got %v, want %v", tc.sortBy, asc, tc.want)
			}
			explicit := listUserNames(t, c, "/Users?sortOrder=ascending&sortBy="+url.QueryEscape(tc.sortBy))
			if !slices.Equal(explicit, tc.want) {
				t.Errorf("sortBy=%s&sortOrder=ascending: got %v, want %v", tc.sortBy, explicit, tc.want)
			}
			desc := listUserNames(t, c, "/Users?sortOrder=descending&sortBy="+url.QueryEscape(tc.sortBy))
			rev := slices.Clone(tc.want)
			slices.Reverse(rev)
			if !slices.Equal(desc, rev) {
				t.Errorf("sortBy=%s descending: got %v, want %v", tc.sortBy, desc, rev)
			}
			// Index paging and cursor paging walk the same order.
			var paged []string
			for start := 1; start <= len(tc.want); start += 2 {
				paged = append(paged, listUserNames(t, c, fmt.Sprintf("/Users?count=2&startIndex=%d&sortBy=%s", start, url.QueryEscape(tc.sortBy)))...)
			}
			if !slices.Equal(paged, tc.want) {
				t.Errorf("sortBy=%s paged by 2: got %v, want %v", tc.sortBy, paged, tc.want)
			}
			if cursored := cursorUserNames(t, c, "sortOrder=descending&sortBy="+url.QueryEscape(tc.sortBy), 2); !slices.Equal(cursored, rev) {
				t.Errorf("sortBy=%s descending, cursor pages of 2: got %v, want %v", tc.sortBy, cursored, rev)
			}
		}
		// A filter and a sort together.
		got := listUserNames(t, c, "/Users?sortBy=userName&sortOrder=descending&filter="+url.QueryEscape(`title pr`))
		if want := []string{"delta", "charlie", "Bravo"}; !slices.Equal(got, want) {
			t.Errorf("filtered and sorted: got %v, want %v", got, want)
		}
		for _, bad := range []string{"sortBy=name", "sortBy=groups", "sortBy=nope", "sortBy=name.nope", "sortBy=userName&sortOrder=up", "sortBy=" + url.QueryEscape(`userName eq "x"`)} {
			expectError(t, do(t, c, http.MethodGet, "/Users?"+bad, nil), http.StatusBadRequest, scim.ErrInvalidValue)
		}
		// Groups sort too.
		for _, name := range []string{"b-role", "A-role", "c-role"} {
			mustDo(t, c, http.MethodPost, "/Groups", map[string]any{"schemas": []any{scim.GroupSchema}, "displayName": name}, http.StatusCreated)
		}
		lr := mustDo(t, c, http.MethodGet, "/Groups?sortBy=displayName&sortOrder=descending&excludedAttributes=members", nil, http.StatusOK)
		var names []string
		for _, r := range lr["Resources"].([]any) {
			names = append(names, r.(map[string]any)["displayName"].(string))
		}
		if want := []string{"c-role", "b-role", "A-role"}; !slices.Equal(names, want) {
			t.Errorf("groups sorted by displayName descending: got %v, want %v", names, want)
		}
	})
}

func listUserNames(t testing.TB, c *scimclient.Client, path string) []string {
	t.Helper()
	lr := mustDo(t, c, http.MethodGet, path, nil, http.StatusOK)
	var out []string
	for _, r := range lr["Resources"].([]any) {
		out = append(out, r.(map[string]any)["userName"].(string))
	}
	return out
}

// cursorUserNames pages with RFC 9865 cursors through the list that query selects.
func cursorUserNames(t testing.TB, c *scimclient.Client, query string, count int) []string {
	t.Helper()
	var out []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("cursor paging of %q does not end", query)
		}
		lr := mustDo(t, c, http.MethodGet, fmt.Sprintf("/Users?%s&count=%d&cursor=%s", query, count, cursor), nil, http.StatusOK)
		if _, has := lr["startIndex"]; has {
			t.Fatalf("cursor-paged response carries startIndex: %v", lr)
		}
		res := lr["Resources"].([]any)
		if len(res) > count {
			t.Fatalf("page of %d for count=%d", len(res), count)
		}
		for _, r := range res {
			out = append(out, r.(map[string]any)["userName"].(string))
		}
		next, has := lr["nextCursor"].(string)
		if !has {
			return out
		}
		if next == "" || strings.Trim(next, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" {
			t.Fatalf("nextCursor %q is not made of RFC 3986 unreserved characters", next)
		}
		cursor = next
	}
}

// TestCursorPaging checks RFC 9865 cursor paging: every user exactly once, nextCursor
// only while pages remain, users added during the walk neither repeat nor displace the
// others, users deleted during it leave no gap, and a cursor that is not one of this
// query's is refused with invalidCursor.
func TestCursorPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "cursor")
		ids := createUsers(t, c, 23, "cursor%02d@example.com")
		_ = ids
		all := cursorUserNames(t, c, "filter="+url.QueryEscape(`userName sw "cursor"`), 5)
		if len(all) != 23 {
			t.Fatalf("cursor paging gave %d users, want 23: %v", len(all), all)
		}
		seen := map[string]bool{}
		for _, n := range all {
			if seen[n] {
				t.Fatalf("user %s returned twice", n)
			}
			seen[n] = true
		}
		// totalResults is given on every page, and the last page has no nextCursor.
		lr := mustDo(t, c, http.MethodGet, "/Users?cursor&count=100", nil, http.StatusOK)
		if jsonInt(t, lr, "totalResults") != 23 || jsonInt(t, lr, "itemsPerPage") != 23 {
			t.Fatalf("one-page cursor list: %v", lr["totalResults"])
		}
		if _, has := lr["nextCursor"]; has {
			t.Fatalf("last page carries nextCursor")
		}

		// Walk by 4 while creating and deleting: the users that exist throughout are each
		// seen exactly once; deleted ones that were not yet reached are not seen.
		lr = mustDo(t, c, http.MethodGet, "/Users?cursor=&count=4&sortBy=userName", nil, http.StatusOK)
		var walked []string
		for _, r := range lr["Resources"].([]any) {
			walked = append(walked, r.(map[string]any)["userName"].(string))
		}
		createUser(t, c, userBody("aaa-before-the-cursor@example.com", nil)) // sorts before: not seen
		createUser(t, c, userBody("zzz-added@example.com", nil))             // sorts after: seen
		victim := mustDo(t, c, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "cursor20@example.com"`), nil, http.StatusOK)
		victimID := victim["Resources"].([]any)[0].(map[string]any)["id"].(string)
		mustDo(t, c, http.MethodDelete, "/Users/"+victimID, nil, http.StatusNoContent)
		for next, _ := lr["nextCursor"].(string); next != ""; next, _ = lr["nextCursor"].(string) {
			lr = mustDo(t, c, http.MethodGet, "/Users?count=4&sortBy=userName&cursor="+next, nil, http.StatusOK)
			for _, r := range lr["Resources"].([]any) {
				walked = append(walked, r.(map[string]any)["userName"].(string))
			}
		}
		var want []string
		for i := range 23 {
			if i != 20 {
				want = append(want, fmt.Sprintf("cursor%02d@example.com", i))
			}
		}
		want = append(want, "zzz-added@example.com")
		if !slices.Equal(walked, want) {
			t.Fatalf("walk during changes:\n got %v\nwant %v", walked, want)
		}

		// Bad cursors.
		first := mustDo(t, c, http.MethodGet, "/Users?cursor=&count=2", nil, http.StatusOK)
		next := first["nextCursor"].(string)
		for _, bad := range []string{
			"/Users?count=2&cursor=not-a-cursor",
			"/Users?count=2&cursor=" + next + "x",
			// The same cursor with another query.
			"/Users?count=2&cursor=" + next + "&filter=" + url.QueryEscape(`userName sw "c"`),
			"/Users?count=2&cursor=" + next + "&sortBy=userName",
		} {
			expectError(t, do(t, c, http.MethodGet, bad, nil), http.StatusBadRequest, scim.ErrInvalidCursor)
		}
		expectError(t, do(t, c, http.MethodGet, "/Users?cursor=&startIndex=3", nil), http.StatusBadRequest, scim.ErrInvalidValue)
		// A cursor of another tenant's list names a position, never a resource: it reads
		// the caller's own users only.
		other := newClient(t, srv, "cursor-other")
		lr = mustDo(t, other, http.MethodGet, "/Users?count=2&cursor="+next, nil, http.StatusOK)
		if jsonInt(t, lr, "totalResults") != 0 || len(lr["Resources"].([]any)) != 0 {
			t.Fatalf("another tenant's cursor showed users: %v", lr)
		}
	})
}

// TestIndexPagingUnderChange checks that index paging (startIndex) answers exactly what
// the RFC defines at the time of each request, also when pages are served from where the
// previous page ended: after creates and deletes between requests, each page equals the
// same slice of a complete list taken at that moment, and totalResults counts exactly.
func TestIndexPagingUnderChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "paging")
		ids := createUsers(t, c, 30, "page%02d@example.com")
		check := func(start, count int) {
			t.Helper()
			full := mustDo(t, c, http.MethodGet, "/Users?count=1000&attributes=userName", nil, http.StatusOK)
			var all []string
			for _, r := range full["Resources"].([]any) {
				all = append(all, r.(map[string]any)["id"].(string))
			}
			if jsonInt(t, full, "totalResults") != len(all) {
				t.Fatalf("totalResults %d, but %d users listed", jsonInt(t, full, "totalResults"), len(all))
			}
			page := mustDo(t, c, http.MethodGet, fmt.Sprintf("/Users?startIndex=%d&count=%d", start, count), nil, http.StatusOK)
			var got []string
			for _, r := range page["Resources"].([]any) {
				got = append(got, r.(map[string]any)["id"].(string))
			}
			want := all[min(start-1, len(all)):min(start-1+count, len(all))]
			if !slices.Equal(got, want) {
				t.Fatalf("startIndex=%d count=%d: got %v, want %v", start, count, got, want)
			}
			if jsonInt(t, page, "totalResults") != len(all) {
				t.Fatalf("page totalResults %d, want %d", jsonInt(t, page, "totalResults"), len(all))
			}
		}
		check(1, 5)
		check(6, 5)
		mustDo(t, c, http.MethodDelete, "/Users/"+ids[2], nil, http.StatusNoContent) // before the position
		check(11, 5)
		check(16, 5)
		createUser(t, c, userBody("page-new@example.com", nil))
		check(21, 5)
		// A refused create (409) and a failed delete change nothing.
		expectError(t, do(t, c, http.MethodPost, "/Users", userBody("PAGE05@example.com", nil)), http.StatusConflict, scim.ErrUniqueness)
		expectStatus(t, do(t, c, http.MethodDelete, "/Users/"+ids[2], nil), http.StatusNotFound)
		check(26, 5)
		mustDo(t, c, http.MethodDelete, "/Users/"+ids[27], nil, http.StatusNoContent)
		check(26, 5)
		check(6, 5)
		// Another tenant's changes do not disturb this tenant's list.
		other := newClient(t, srv, "paging-other")
		createUser(t, other, userBody("someone@example.com", nil))
		check(11, 5)
	})
}

// TestListedUserEqualsRead checks that a user in a list and in a GET (both written from the
// stored document as it is) is exactly the user built attribute by attribute (what a
// request that names attributes gets: here it names only an attribute that does not exist,
// which leaves every default attribute in).
func TestListedUserEqualsRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "render")
		rich := map[string]any{
			"schemas":      []any{scim.UserSchema, scim.EnterpriseUserSchema},
			"userName":     `tricky "quoted" \ user <&> é 日本`,
			"externalId":   "ext-1",
			"name":         map[string]any{"givenName": "Bär", "familyName": "O'Neil", "formatted": "x\ny"},
			"emails":       []any{map[string]any{"value": "a@example.com", "type": "work", "primary": true}},
			"phoneNumbers": []any{map[string]any{"value": "+1 555", "type": "mobile"}},
			"addresses":    []any{map[string]any{"streetAddress": "1 Main {St}", "locality": "[Town]", "type": "work"}},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "R&D", "manager": map[string]any{"value": "m-1"}},
			"password": "never-returned",
		}
		u1 := createUser(t, c, rich)
		u2 := createUser(t, c, map[string]any{"schemas": []any{scim.UserSchema}, "userName": "plain"}) // no "active" sent
		u3 := createUser(t, c, map[string]any{"schemas": []any{scim.UserSchema}, "userName": "inactive", "active": false})
		g := mustDo(t, c, http.MethodPost, "/Groups", map[string]any{"schemas": []any{scim.GroupSchema}, "displayName": "Role \"One\"",
			"members": []any{map[string]any{"value": u1["id"]}, map[string]any{"value": u2["id"]}}}, http.StatusCreated)
		_ = g
		lr := mustDo(t, c, http.MethodGet, "/Users?count=10", nil, http.StatusOK)
		listed := map[string]map[string]any{}
		for _, r := range lr["Resources"].([]any) {
			m := r.(map[string]any)
			listed[m["id"].(string)] = m
		}
		for _, u := range []map[string]any{u1, u2, u3} {
			id := u["id"].(string)
			read := mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
			built := mustDo(t, c, http.MethodGet, "/Users/"+id+"?excludedAttributes=noSuchAttribute", nil, http.StatusOK)
			if !reflect.DeepEqual(listed[id], built) {
				t.Errorf("user %s listed as\n%v\nbuilt as\n%v", id, listed[id], built)
			}
			if !reflect.DeepEqual(read, built) {
				t.Errorf("user %s read as\n%v\nbuilt as\n%v", id, read, built)
			}
			if _, has := read["password"]; has {
				t.Errorf("password returned")
			}
		}
		if listed[u2["id"].(string)]["active"] != true {
			t.Errorf("user created without active is not listed active: %v", listed[u2["id"].(string)])
		}
	})
}

// TestCountedTotalUnderConcurrency checks the per-tenant counters behind an unfiltered
// list's totalResults against a count of the rows (a filter that matches every user is
// counted with count(*)), after concurrent creates, refused duplicate creates and
// concurrent deletes.
func TestCountedTotalUnderConcurrency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "counted")
		ids := createUsers(t, c, 60, "counted%02d@example.com")
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				resp, err := c.Do(t.Context(), http.MethodDelete, "/Users/"+ids[i*2], nil)
				if err != nil || resp.Status != http.StatusNoContent {
					t.Errorf("delete: %v %v", err, resp)
				}
			}()
			go func() {
				defer wg.Done()
				resp, err := c.Do(t.Context(), http.MethodPost, "/Users", userBody(fmt.Sprintf("COUNTED%02d@example.com", i), nil))
				if err != nil || (resp.Status != http.StatusConflict && resp.Status != http.StatusCreated) {
					t.Errorf("duplicate create: %v %v", err, resp)
				}
			}()
		}
		wg.Wait()
		counted := jsonInt(t, mustDo(t, c, http.MethodGet, "/Users?count=0", nil, http.StatusOK), "totalResults")
		rows := jsonInt(t, mustDo(t, c, http.MethodGet, "/Users?count=0&filter="+url.QueryEscape("userName pr"), nil, http.StatusOK), "totalResults")
		if counted != rows {
			t.Fatalf("counted total %d, rows %d", counted, rows)
		}
		listed := len(mustDo(t, c, http.MethodGet, "/Users?count=1000", nil, http.StatusOK)["Resources"].([]any))
		if listed != rows {
			t.Fatalf("listed %d users, counted %d", listed, rows)
		}
	})
}
