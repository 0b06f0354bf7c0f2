package httpapi_test

import (
	"net/http"
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
