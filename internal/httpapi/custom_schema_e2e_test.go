package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/storetest"
)

const acmeURN = "urn:example:params:scim:schemas:extension:acme:2.0:User"
const groupExtURN = "urn:example:params:scim:schemas:extension:billing:2.0:Group"

const schemaFile = `{"extensions": [
  {"resourceType": "User", "tenants": ["acme"], "schema": {
    "id": "` + acmeURN + `", "name": "AcmeUser", "description": "Acme's own user attributes",
    "attributes": [
      {"name": "roleLevel", "type": "integer", "description": "Seniority, 1 to 9"},
      {"name": "badges", "type": "string", "multiValued": true, "caseExact": true},
      {"name": "clearance", "type": "complex", "subAttributes": [
        {"name": "level", "type": "string", "canonicalValues": ["low", "high"]},
        {"name": "since", "type": "dateTime"}]},
      {"name": "costCenterCode", "type": "string", "required": true},
      {"name": "notes", "type": "string", "returned": "request"},
      {"name": "pin", "type": "string", "mutability": "writeOnly", "returned": "never"}
    ]}},
  {"resourceType": "Group", "schema": {
    "id": "` + groupExtURN + `",
    "attributes": [{"name": "budget", "type": "decimal"}]}}
]}`

// TestCustomSchemaExtensions checks a schema extension declared in the schema file: it is
// published in /Schemas and /ResourceTypes of the tenants that have it, validated,
// stored, returned, filterable, sortable and patchable, and invisible to other tenants.
func TestCustomSchemaExtensions(t *testing.T) {
	exts, err := scim.ParseSchemaFile([]byte(schemaFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			srv := storetest.StartServerWith(t, be.Open(t), httpapi.Options{Extensions: exts})
			acme := srv.NewTenant(t, "acme").Client
			other := srv.NewTenant(t, "other").Client

			// Discovery.
			sc := mustDo(t, acme, http.MethodGet, "/Schemas/"+acmeURN, nil, http.StatusOK)
			expectField(t, sc, "AcmeUser", "name")
			expectError(t, do(t, other, http.MethodGet, "/Schemas/"+acmeURN, nil), http.StatusNotFound, "")
			mustDo(t, other, http.MethodGet, "/Schemas/"+groupExtURN, nil, http.StatusOK) // for every tenant
			rt := mustDo(t, acme, http.MethodGet, "/ResourceTypes/User", nil, http.StatusOK)
			var exts []string
			for _, e := range rt["schemaExtensions"].([]any) {
				exts = append(exts, e.(map[string]any)["schema"].(string))
			}
			if !slices.Contains(exts, acmeURN) || !slices.Contains(exts, scim.EnterpriseUserSchema) {
				t.Fatalf("acme's User schemaExtensions %v", exts)
			}

			// Create, validate, return.
			mk := func(name string, level any, extra map[string]any) map[string]any {
				ext := map[string]any{"roleLevel": level, "costCenterCode": "CC-1"}
				for k, v := range extra {
					ext[k] = v
				}
				return map[string]any{"schemas": []any{scim.UserSchema, acmeURN}, "userName": name, acmeURN: ext}
			}
			u1 := createUser(t, acme, mk("one", 3, map[string]any{"badges": []any{"Gold", "red"}, "clearance": map[string]any{"level": "high", "since": "2024-01-02T03:04:05Z"}}))
			expectField(t, u1, float64(3), acmeURN, "roleLevel")
			expectField(t, u1, "high", acmeURN, "clearance", "level")
			if got := stringList(t, u1["schemas"]); !slices.Contains(got, acmeURN) {
				t.Fatalf("schemas %v lacks the extension", got)
			}
			createUser(t, acme, mk("two", 7, nil))
			createUser(t, acme, mk("three", 1, map[string]any{"badges": []any{"gold"}}))
			expectError(t, do(t, acme, http.MethodPost, "/Users", mk("bad", "high", nil)), http.StatusBadRequest, scim.ErrInvalidValue)
			expectError(t, do(t, acme, http.MethodPost, "/Users", mk("bad", 1.5, nil)), http.StatusBadRequest, scim.ErrInvalidValue)
			missing := mk("bad", 2, nil)
			delete(missing[acmeURN].(map[string]any), "costCenterCode")
			expectError(t, do(t, acme, http.MethodPost, "/Users", missing), http.StatusBadRequest, scim.ErrInvalidValue)

			// Filter and sort (listed users come from stored documents, read ones built).
			names := func(path string) []string { return listUserNames(t, acme, path) }
			if got := names("/Users?sortBy=userName&filter=" + url.QueryEscape(acmeURN+":roleLevel gt 2")); !slices.Equal(got, []string{"one", "two"}) {
				t.Fatalf("roleLevel gt 2: %v", got)
			}
			if got := names("/Users?filter=" + url.QueryEscape(acmeURN+`:badges eq "gold"`)); !slices.Equal(got, []string{"three"}) {
				t.Fatalf("badges eq gold (caseExact): %v", got)
			}
			if got := names("/Users?filter=" + url.QueryEscape(acmeURN+`:clearance.since lt "2025-01-01T00:00:00Z"`)); !slices.Equal(got, []string{"one"}) {
				t.Fatalf("clearance.since lt: %v", got)
			}
			if got := names("/Users?sortOrder=descending&sortBy=" + url.QueryEscape(acmeURN+":roleLevel")); !slices.Equal(got, []string{"two", "one", "three"}) {
				t.Fatalf("sorted by roleLevel descending: %v", got)
			}
			lr := mustDo(t, acme, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "one"`), nil, http.StatusOK)
			listed := lr["Resources"].([]any)[0].(map[string]any)
			read := mustDo(t, acme, http.MethodGet, "/Users/"+u1["id"].(string), nil, http.StatusOK)
			expectField(t, listed, read[acmeURN], acmeURN)

			// returned "request" comes only when asked for, returned "never" never; lists
			// (which otherwise write stored documents as they are) honour both.
			secret := createUser(t, acme, mk("secretive", 2, map[string]any{"notes": "hello", "pin": "1234"}))
			sid := secret["id"].(string)
			for _, got := range []map[string]any{
				secret,
				mustDo(t, acme, http.MethodGet, "/Users/"+sid, nil, http.StatusOK),
				mustDo(t, acme, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "secretive"`), nil, http.StatusOK)["Resources"].([]any)[0].(map[string]any),
			} {
				ext, _ := got[acmeURN].(map[string]any)
				if _, has := ext["notes"]; has {
					t.Fatalf("returned:request attribute without being asked for: %v", ext)
				}
				if _, has := ext["pin"]; has {
					t.Fatalf("returned:never attribute returned: %v", ext)
				}
			}
			asked := mustDo(t, acme, http.MethodGet, "/Users?attributes="+url.QueryEscape(acmeURN+":notes,"+acmeURN+":pin")+"&filter="+url.QueryEscape(`userName eq "secretive"`), nil, http.StatusOK)["Resources"].([]any)[0].(map[string]any)
			expectField(t, asked, "hello", acmeURN, "notes")
			if _, has := asked[acmeURN].(map[string]any)["pin"]; has {
				t.Fatalf("returned:never attribute returned when asked for: %v", asked)
			}
			mustDo(t, acme, http.MethodDelete, "/Users/"+sid, nil, http.StatusNoContent)

			// PATCH by schema-qualified path.
			p := mustDo(t, acme, http.MethodPatch, "/Users/"+u1["id"].(string), map[string]any{
				"schemas":    []any{scim.PatchOpSchema},
				"Operations": []any{map[string]any{"op": "replace", "path": acmeURN + ":roleLevel", "value": 9}},
			}, http.StatusOK)
			expectField(t, p, float64(9), acmeURN, "roleLevel")

			// Another tenant does not have the extension: its attributes are ignored like
			// any undeclared attribute, and filtering on them is an error.
			u := createUser(t, other, mk("elsewhere", 3, nil))
			if _, has := u[acmeURN]; has {
				t.Fatalf("tenant without the extension stored it: %v", u)
			}
			expectError(t, do(t, other, http.MethodGet, "/Users?filter="+url.QueryEscape(acmeURN+":roleLevel gt 2"), nil), http.StatusBadRequest, scim.ErrInvalidFilter)

			// The Group extension applies to every tenant.
			g := mustDo(t, other, http.MethodPost, "/Groups", map[string]any{"schemas": []any{scim.GroupSchema, groupExtURN}, "displayName": "Billing", groupExtURN: map[string]any{"budget": 12.5}}, http.StatusCreated)
			expectField(t, g, 12.5, groupExtURN, "budget")
			lr = mustDo(t, other, http.MethodGet, "/Groups?excludedAttributes=members&filter="+url.QueryEscape(groupExtURN+":budget ge 10"), nil, http.StatusOK)
			if jsonInt(t, lr, "totalResults") != 1 {
				t.Fatalf("budget ge 10: %v", lr)
			}
		})
	}
}
