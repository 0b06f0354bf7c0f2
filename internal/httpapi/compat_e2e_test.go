package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/scimd/scimd/internal/compat"
	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/storetest"
)

// TestCompatScim2ModelsNoPagination: a tenant whose client is built
// on Python's scim2-models (which rejects RFC 9865's "pagination") gets a
// /ServiceProviderConfig without it; other tenants keep it.
func TestCompatScim2ModelsNoPagination(t *testing.T) {
	cfg, err := compat.Parse([]byte(`{"py":{"scim2ModelsNoPagination":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := storetest.StartServerWith(t, storetest.OpenSQLite(t), httpapi.Options{Compat: cfg})
	py := s.NewTenant(t, "py").Client
	other := s.NewTenant(t, "other").Client
	spc := mustDo(t, py, http.MethodGet, "/ServiceProviderConfig", nil, http.StatusOK)
	if _, has := spc["pagination"]; has {
		t.Fatalf("pagination advertised to the scim2-models tenant: %v", spc["pagination"])
	}
	if spc["filter"] == nil || spc["bulk"] == nil {
		t.Fatalf("other attributes went too: %v", spc)
	}
	if _, has := mustDo(t, other, http.MethodGet, "/ServiceProviderConfig", nil, http.StatusOK)["pagination"]; !has {
		t.Fatal("pagination missing for a tenant without the switch")
	}
}

// TestCompatReplaceMembersAdds: with the replaceMembersAdds switch, a tenant's
// {"op":"replace","path":"members"} adds the members listed (a client reported to send
// only the changed members); other tenants keep RFC 7644's whole-list replacement, which
// Okta's "Push now" needs, [] included. On every store.
func TestCompatReplaceMembersAdds(t *testing.T) {
	cfg, err := compat.Parse([]byte(`{"entra":{"replaceMembersAdds":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := storetest.StartServerWith(t, b.Open(t), httpapi.Options{Compat: cfg})
			for _, tc := range []struct {
				tenant string
				want   []int // indexes of the users that end as members
				empty  []int // after replace with []
			}{
				{"entra", []int{0, 1}, []int{0, 1}},
				{"okta", []int{1}, nil},
			} {
				c := s.NewTenant(t, tc.tenant).Client
				var ids []string
				for i := 0; i < 2; i++ {
					u := mustDo(t, c, http.MethodPost, "/Users", map[string]any{"userName": fmt.Sprintf("u%d@example.com", i)}, http.StatusCreated)
					ids = append(ids, u["id"].(string))
				}
				g := mustDo(t, c, http.MethodPost, "/Groups", map[string]any{"displayName": "g", "members": []any{map[string]any{"value": ids[0]}}}, http.StatusCreated)
				gid := g["id"].(string)
				members := func() []int {
					got := mustDo(t, c, http.MethodGet, "/Groups/"+gid, nil, http.StatusOK)
					var out []int
					list, _ := got["members"].([]any)
					for i, id := range ids {
						for _, m := range list {
							if m.(map[string]any)["value"] == id {
								out = append(out, i)
							}
						}
					}
					return out
				}
				replace := func(vals ...string) {
					var v []any
					for _, id := range vals {
						v = append(v, map[string]any{"value": id})
					}
					if v == nil {
						v = []any{}
					}
					mustDo(t, c, http.MethodPatch, "/Groups/"+gid, map[string]any{
						"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
						"Operations": []any{map[string]any{"op": "Replace", "path": "members", "value": v}}}, http.StatusNoContent)
				}
				replace(ids[1])
				if got := members(); !slices.Equal(got, tc.want) {
					t.Errorf("%s: replace members [u1] over [u0]: members %v, want %v", tc.tenant, got, tc.want)
				}
				replace()
				if got := members(); !slices.Equal(got, tc.empty) {
					t.Errorf("%s: replace members []: members %v, want %v", tc.tenant, got, tc.empty)
				}
			}
		})
	}
}
