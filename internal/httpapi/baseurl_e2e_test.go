package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/storetest"
)

// TestBaseURLForms: Options.BaseURL may be given with or without /scim/v2 and trailing
// slashes; meta.location, Location and the discovery documents' locations always have
// /scim/v2 exactly once.
func TestBaseURLForms(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"https://scim.example.com", "https://scim.example.com/scim/v2"},
		{"https://scim.example.com/", "https://scim.example.com/scim/v2"},
		{"https://scim.example.com/scim/v2", "https://scim.example.com/scim/v2"},
		{"https://scim.example.com/scim/v2/", "https://scim.example.com/scim/v2"},
		{"https://scim.example.com/SCIM/V2//", "https://scim.example.com/scim/v2"},
		{"https://example.com/identity", "https://example.com/identity/scim/v2"},
		{"https://example.com/identity/scim/v2", "https://example.com/identity/scim/v2"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			if got := httpapi.NormalizeBaseURL(tc.base) + httpapi.Prefix; got != tc.want {
				t.Errorf("NormalizeBaseURL(%q) + Prefix = %q, want %q", tc.base, got, tc.want)
			}
			srv := storetest.StartServerWith(t, storetest.OpenSQLite(t), httpapi.Options{BaseURL: tc.base})
			c := srv.NewTenant(t, "base").Client
			resp := do(t, c, http.MethodPost, "/Users", userBody("alice", nil))
			expectStatus(t, resp, http.StatusCreated)
			u := bodyOf(t, resp)
			loc := tc.want + "/Users/" + idOf(t, u)
			if got := resp.Header.Get("Location"); got != loc {
				t.Errorf("Location %q, want %q", got, loc)
			}
			expectField(t, u, loc, "meta", "location")
			g := mustDo(t, c, http.MethodPost, "/Groups", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "G", "members": []any{map[string]any{"value": idOf(t, u)}}}, http.StatusCreated)
			expectField(t, g, tc.want+"/Groups/"+idOf(t, g), "meta", "location")
			expectField(t, g, loc, "members", "0", "$ref")
			spc := mustDo(t, c, http.MethodGet, "/ServiceProviderConfig", nil, http.StatusOK)
			expectField(t, spc, tc.want+"/ServiceProviderConfig", "meta", "location")
		})
	}
}
