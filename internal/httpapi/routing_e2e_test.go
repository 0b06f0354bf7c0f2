package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// noRedirects makes a client report a redirect as the response it is: an identity
// provider that follows none would have failed the request.
func noRedirects(c *scimclient.Client) *scimclient.Client {
	c.HTTP = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c
}

// TestPathsTolerated: every SCIM endpoint answers with a trailing slash (Microsoft's SCIM
// test collection sends GET /Users/?filter=…), with doubled slashes and dot segments, and
// at the root without its slash, as it does at its clean path: never a redirect, never a
// 404 for the spelling. Routing does not depend on the store, so SQLite alone serves it.
func TestPathsTolerated(t *testing.T) {
	srv := storetest.StartServer(t, storetest.OpenSQLite(t))
	tn := srv.NewTenant(t, "paths")
	c := noRedirects(tn.Client)
	// root reaches paths above the prefix, to send //scim/v2/….
	root := noRedirects(scimclient.New(strings.TrimSuffix(srv.URL, httpapi.Prefix), tn.Issued.Bearer))
	alice := idOf(t, createUser(t, c, userBody("alice", nil)))
	bob := idOf(t, createUser(t, c, userBody("bob", nil)))
	staff := idOf(t, mustDo(t, c, http.MethodPost, "/Groups", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Staff"}, http.StatusCreated))
	temps := idOf(t, mustDo(t, c, http.MethodPost, "/Groups", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Temps"}, http.StatusCreated))
	search := map[string]any{"schemas": []string{scim.SearchRequestSchema}, "filter": `userName eq "alice"`}
	bulk := bulkBody(0, map[string]any{"method": "POST", "path": "/Users", "bulkId": "c", "data": userBody("carol", nil)})

	for _, tc := range []struct {
		client *scimclient.Client
		method string
		path   string
		body   any
		status int
		// total, if not zero, is the ListResponse's totalResults; id is the resource's id.
		total int
		id    string
	}{
		{c, "GET", "/Users/?" + filterParam(`userName eq "alice"`), nil, 200, 1, ""},
		{c, "GET", "//Users?" + filterParam(`userName eq "alice"`), nil, 200, 1, ""},
		{c, "GET", "//Users//?" + filterParam(`userName eq "bob"`), nil, 200, 1, ""},
		{c, "GET", "/./Users", nil, 200, 2, ""},
		{c, "GET", "/Users/" + alice + "/", nil, 200, 0, alice},
		{c, "GET", "//Users//" + alice, nil, 200, 0, alice},
		{c, "PUT", "/Users/" + alice + "/", userBody("alice", map[string]any{"displayName": "Alice"}), 200, 0, alice},
		{c, "PATCH", "/Users/" + alice + "/", patchBody(patchOp("replace", "nickName", "Al")), 200, 0, alice},
		{c, "POST", "/Users/.search/", search, 200, 1, ""},
		{c, "GET", "/Groups/", nil, 200, 2, ""},
		{c, "GET", "/Groups/" + staff + "/", nil, 200, 0, staff},
		{c, "PUT", "/Groups/" + staff + "/", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Staff"}, 200, 0, staff},
		{c, "PATCH", "/Groups/" + staff + "/", patchBody(patchOp("add", "members", []any{map[string]any{"value": alice}})), 204, 0, ""},
		{c, "POST", "/Groups/.search/", map[string]any{"schemas": []string{scim.SearchRequestSchema}}, 200, 2, ""},
		{c, "POST", "/.search/", search, 200, 1, ""},
		{c, "GET", "", nil, 200, 4, ""}, // the root, /scim/v2 without its slash
		{c, "GET", "/", nil, 200, 4, ""},
		{c, "GET", "//", nil, 200, 4, ""},
		{c, "GET", "/ServiceProviderConfig/", nil, 200, 0, ""},
		{c, "GET", "/ResourceTypes/", nil, 200, 2, ""},
		{c, "GET", "/ResourceTypes/User/", nil, 200, 0, "User"},
		{c, "GET", "/Schemas/", nil, 200, 0, ""},
		{c, "GET", "/Schemas/" + scim.UserSchema + "/", nil, 200, 0, scim.UserSchema},
		{c, "POST", "/Bulk/", bulk, 200, 0, ""},
		{c, "GET", "/Me/", nil, 501, 0, ""},
		{c, "GET", "/Nothing/", nil, 404, 0, ""},
		{c, "DELETE", "/Users/" + bob + "/", nil, 204, 0, ""},
		{c, "DELETE", "//Groups/" + temps + "//", nil, 204, 0, ""},
		{root, "GET", "//scim/v2/Users/", nil, 200, 2, ""},
		{root, "GET", "/scim/v2//Groups/" + staff + "/", nil, 200, 0, staff},
	} {
		what := tc.method + " " + tc.path
		resp, err := tc.client.Do(t.Context(), tc.method, tc.path, tc.body)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != tc.status {
			t.Fatalf("%s: status %d (Location %q), want %d: %s", what, resp.Status, resp.Header.Get("Location"), tc.status, clip(resp.Body))
		}
		body := bodyOf(t, resp)
		if tc.total != 0 {
			if got := jsonInt(t, body, "totalResults"); got != tc.total {
				t.Errorf("%s: totalResults %d, want %d", what, got, tc.total)
			}
		}
		if tc.id != "" && body["id"] != tc.id {
			t.Errorf("%s: id %v, want %s", what, body["id"], tc.id)
		}
		if resp.Status >= 400 && body["schemas"] == nil {
			t.Errorf("%s: %d without a SCIM error body", what, resp.Status)
		}
	}

	// A create at /Users/ answers with the clean Location.
	resp := do(t, c, http.MethodPost, "/Users/", userBody("dave", nil))
	expectStatus(t, resp, http.StatusCreated)
	u := bodyOf(t, resp)
	want := c.BaseURL + "/Users/" + idOf(t, u)
	if loc := resp.Header.Get("Location"); loc != want {
		t.Errorf("POST /Users/: Location %q, want %q", loc, want)
	}
	expectField(t, u, want, "meta", "location")

	// Cleaning comes before authentication, not instead of it.
	expectError(t, send(t, c, scimclient.Request{Method: http.MethodGet, Path: "/Users/", NoAuth: true}), http.StatusUnauthorized, "")
	expectError(t, send(t, root, scimclient.Request{Method: http.MethodGet, Path: "//scim/v2//Users", NoAuth: true}), http.StatusUnauthorized, "")
}
