package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// expectErrorNaming is expectError that also wants the detail to contain name.
func expectErrorNaming(t testing.TB, resp *scimclient.Response, status int, scimType, name string) {
	t.Helper()
	e := expectError(t, resp, status, scimType)
	if d, _ := e["detail"].(string); !strings.Contains(d, name) {
		t.Fatalf("detail %q does not name %s", d, name)
	}
}

// TestHostileStrings: strings that PostgreSQL cannot hold (NUL,
// invalid UTF-8) or index (about 2,700 bytes) got 500 there and were stored by SQLite.
// Both stores now give the same clear answer: 400 invalidValue in a body, 400
// invalidFilter in a filter, 404 for an id that cannot exist, and length caps on every
// string attribute, named in the error.
func TestHostileStrings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "hostile")
		u := createUser(t, c, userBody("alice", nil))
		uid := u["id"].(string)
		g := mustDo(t, c, http.MethodPost, "/Groups", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Admins"}, http.StatusCreated)
		gid := g["id"].(string)

		// NUL and invalid UTF-8 in bodies.
		expectErrorNaming(t, do(t, c, http.MethodPost, "/Users", `{"userName":"a\u0000b"}`), 400, scim.ErrInvalidValue, "userName")
		expectErrorNaming(t, do(t, c, http.MethodPost, "/Users", []byte("{\"userName\":\"a\xffb\"}")), 400, scim.ErrInvalidValue, "UTF-8")
		expectError(t, do(t, c, http.MethodPost, "/Groups", `{"displayName":"\u0000"}`), 400, scim.ErrInvalidValue)
		expectError(t, do(t, c, http.MethodPatch, "/Users/"+uid, `{"schemas":["`+scim.PatchOpSchema+`"],"Operations":[{"op":"replace","path":"title","value":"x\u0000"}]}`), 400, scim.ErrInvalidValue)
		expectError(t, do(t, c, http.MethodPatch, "/Groups/"+gid, `{"schemas":["`+scim.PatchOpSchema+`"],"Operations":[{"op":"add","path":"members","value":[{"value":"\u0000"}]}]}`), 400, scim.ErrInvalidValue)

		// In filters, in the query and in a search body.
		for _, f := range []string{"userName eq \"\x00\"", "userName eq \"a\xffb\"", `userName eq "\u0000"`} {
			expectError(t, do(t, c, http.MethodGet, "/Users?filter="+url.QueryEscape(f), nil), 400, scim.ErrInvalidFilter)
			expectError(t, do(t, c, http.MethodGet, "/Groups?filter="+url.QueryEscape(strings.Replace(f, "userName", "displayName", 1)), nil), 400, scim.ErrInvalidFilter)
		}
		expectError(t, do(t, c, http.MethodPost, "/Users/.search", `{"schemas":["`+scim.SearchRequestSchema+`"],"filter":"userName eq \"\\u0000\""}`), 400, scim.ErrInvalidFilter)

		// Ids that cannot exist, in the URL and in a bulk path.
		for _, id := range []string{"%00", "%ff", "a%00b", "%c3%28"} {
			for _, ep := range []string{"/Users/", "/Groups/"} {
				expectError(t, do(t, c, http.MethodGet, ep+id, nil), 404, "")
				expectError(t, do(t, c, http.MethodDelete, ep+id, nil), 404, "")
				expectError(t, do(t, c, http.MethodPatch, ep+id, `{"schemas":["`+scim.PatchOpSchema+`"],"Operations":[{"op":"replace","path":"externalId","value":"x"}]}`), 404, "")
			}
			expectError(t, do(t, c, http.MethodPut, "/Users/"+id, userBody("bob", nil)), 404, "")
			ops := mustBulk(t, c, bulkBody(0, bop("DELETE", "/Users/"+id, "", nil), bop("PATCH", "/Groups/"+id, "", map[string]any{"schemas": []string{scim.PatchOpSchema}, "Operations": []any{map[string]any{"op": "add", "path": "externalId", "value": "x"}}})))
			expectOp(t, ops, 0, opWant{method: "DELETE", status: 404, anyLocation: true})
			expectOp(t, ops, 1, opWant{method: "PATCH", status: 404, anyLocation: true})
		}
		// A credential id that cannot exist is refused like any unknown one.
		expectUnauthorized(t, do(t, withAuth(c, scimclient.Basic("a\x00b", "secret")), http.MethodGet, "/Users", nil))

		// A cursor whose position holds a NUL is not one this server issued.
		createUser(t, c, userBody("bob", nil))
		l := mustDo(t, c, http.MethodGet, "/Users?sortBy=userName&count=1&cursor=", nil, http.StatusOK)
		raw, _ := base64.RawURLEncoding.DecodeString(l["nextCursor"].(string))
		var pos map[string]any
		if err := json.Unmarshal(raw, &pos); err != nil {
			t.Fatal(err)
		}
		pos["k"] = "\x00"
		forged, _ := json.Marshal(pos)
		expectError(t, do(t, c, http.MethodGet, "/Users?sortBy=userName&count=1&cursor="+base64.RawURLEncoding.EncodeToString(forged), nil), 400, "invalidCursor")

		// Length caps: identifiers (indexed) at scim.MaxIdentifierBytes, other strings at
		// scim.MaxStringBytes; the error names the attribute.
		long := func(n int) string { return strings.Repeat("é", n/2) }
		createUser(t, c, userBody(long(scim.MaxIdentifierBytes), map[string]any{"title": long(scim.MaxStringBytes)}))
		for _, tc := range []struct {
			body map[string]any
			attr string
		}{
			{userBody(long(2700), nil), "userName"},
			{userBody("c", map[string]any{"externalId": long(2700)}), "externalId"},
			{userBody("c", map[string]any{"displayName": long(scim.MaxIdentifierBytes + 2)}), "displayName"},
			{userBody("c", map[string]any{"emails": []any{map[string]any{"value": long(4000) + "@example.com"}}}), "emails[0].value"},
			{userBody("c", map[string]any{"title": long(scim.MaxStringBytes + 2)}), "title"},
			{userBody("c", map[string]any{"name": map[string]any{"givenName": long(100 << 10)}}), "name.givenName"},
			{userBody("c", map[string]any{scim.EnterpriseUserSchema: map[string]any{"department": long(scim.MaxStringBytes + 2)}}), "department"},
		} {
			expectErrorNaming(t, do(t, c, http.MethodPost, "/Users", tc.body), 400, scim.ErrInvalidValue, tc.attr)
			expectErrorNaming(t, do(t, c, http.MethodPut, "/Users/"+uid, tc.body), 400, scim.ErrInvalidValue, tc.attr)
		}
		// A 4 MiB userName (stored by SQLite before) is over the body limit.
		expectError(t, do(t, c, http.MethodPost, "/Users", userBody(long(4<<20), nil)), http.StatusRequestEntityTooLarge, "")
		expectErrorNaming(t, do(t, c, http.MethodPatch, "/Users/"+uid, map[string]any{"schemas": []string{scim.PatchOpSchema},
			"Operations": []any{map[string]any{"op": "replace", "path": "userName", "value": long(2700)}}}), 400, scim.ErrInvalidValue, "userName")
		expectErrorNaming(t, do(t, c, http.MethodPost, "/Groups", map[string]any{"displayName": long(2700)}), 400, scim.ErrInvalidValue, "displayName")
		expectErrorNaming(t, do(t, c, http.MethodPatch, "/Groups/"+gid, map[string]any{"schemas": []string{scim.PatchOpSchema},
			"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": long(2700)}}}), 400, scim.ErrInvalidValue, "displayName")
		// Multi-valued attributes: at most scim.MaxValues values.
		many := make([]any, scim.MaxValues+1)
		for i := range many {
			many[i] = map[string]any{"value": "p" + strings.Repeat("1", i%7)}
		}
		expectErrorNaming(t, do(t, c, http.MethodPost, "/Users", userBody("d", map[string]any{"phoneNumbers": many})), 400, scim.ErrInvalidValue, "phoneNumbers")
		createUser(t, c, userBody("d", map[string]any{"phoneNumbers": many[:scim.MaxValues]}))

		// Nothing of the above was stored.
		if n := userCount(t, c); n != 4 {
			t.Fatalf("%d users, want 4", n)
		}
		after := mustDo(t, c, http.MethodGet, "/Users/"+uid, nil, http.StatusOK)
		if after["userName"] != "alice" || after["title"] != nil {
			t.Fatalf("user changed: %v", after)
		}
	})
}
