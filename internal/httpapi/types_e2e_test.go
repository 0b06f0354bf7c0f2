package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/storetest"
)

// TestWrongTypes: a value of the wrong JSON type is 400 invalidValue naming the attribute,
// on create, replace and PATCH, never coerced and never stored; Entra's string booleans
// are the one documented exception.
func TestWrongTypes(t *testing.T) {
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "types")
		id := idOf(t, createUser(t, c, userBody("typed@x.example", nil)))
		for _, tc := range []struct {
			name, attr string
			extra      map[string]any
		}{
			{"number for userName", "userName", map[string]any{"userName": 5}},
			{"boolean for displayName", "displayName", map[string]any{"displayName": true}},
			{"string for active", "active", map[string]any{"active": "yes"}},
			{"number for active", "active", map[string]any{"active": 1}},
			{"string for name", "name", map[string]any{"name": "Ada"}},
			{"number for an e-mail value", "emails[0].value", map[string]any{"emails": []any{map[string]any{"value": 5}}}},
			{"string for an e-mail's primary", "emails[0].primary", map[string]any{"emails": []any{map[string]any{"value": "a@x", "primary": "maybe"}}}},
			{"object for title", "title", map[string]any{"title": map[string]any{"x": 1}}},
			{"number for an enterprise string", "employeeNumber", map[string]any{"schemas": []string{scim.UserSchema, ent}, ent: map[string]any{"employeeNumber": 42}}},
			{"number for the manager", "manager", map[string]any{"schemas": []string{scim.UserSchema, ent}, ent: map[string]any{"manager": 7}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				body := userBody("wrong@x.example", tc.extra)
				if _, ok := tc.extra["userName"]; ok {
					body["userName"] = tc.extra["userName"]
				}
				for _, req := range []struct {
					method, path string
					body         any
				}{
					{http.MethodPost, "/Users", body},
					{http.MethodPut, "/Users/" + id, body},
				} {
					e := expectError(t, do(t, c, req.method, req.path, req.body), http.StatusBadRequest, scim.ErrInvalidValue)
					if d, _ := e["detail"].(string); !strings.Contains(d, tc.attr) {
						t.Errorf("%s: detail %q does not name %s", req.method, d, tc.attr)
					}
				}
				for k, v := range tc.extra {
					if k == "schemas" {
						continue
					}
					path := k
					e := expectError(t, do(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("replace", path, v))), http.StatusBadRequest, scim.ErrInvalidValue)
					if d, _ := e["detail"].(string); !strings.Contains(d, strings.SplitN(tc.attr, "[", 2)[0]) {
						t.Errorf("PATCH: detail %q does not name %s", d, tc.attr)
					}
				}
			})
		}
		// Nothing was stored: no user besides the first, which is unchanged.
		if l := mustList(t, c, "/Users"); l.Total != 1 {
			t.Fatalf("%d users after refused writes", l.Total)
		}
		got := mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		expectField(t, got, "typed@x.example", "userName")
		if _, has := got[ent]; has {
			t.Fatalf("a refused write left %v", got[ent])
		}
		// Entra ID sends booleans as strings ("False") without aadOptscim062020: accepted.
		got = mustDo(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("Replace", "active", "False")), http.StatusOK)
		expectField(t, got, false, "active")
	})
}
