package httpapi_test

// End-to-end tests of the discovery endpoints (RFC 7644 §4), and of the promise that the
// published schema definitions are the ones the server enforces.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

func TestServiceProviderConfig(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "spc")
		spc := mustDo(t, c, http.MethodGet, "/ServiceProviderConfig", nil, http.StatusOK)
		expectField(t, spc, []any{scim.ServiceProviderConfigSchema}, "schemas")
		expectField(t, spc, true, "patch", "supported")
		expectField(t, spc, true, "bulk", "supported")
		expectField(t, spc, true, "filter", "supported")
		expectField(t, spc, true, "sort", "supported")
		expectField(t, spc, true, "pagination", "cursor")
		expectField(t, spc, true, "pagination", "index")
		expectField(t, spc, "index", "pagination", "defaultPaginationMethod")
		expectField(t, spc, true, "etag", "supported")
		expectField(t, spc, false, "changePassword", "supported")
		filter, _ := spc["filter"].(map[string]any)
		maxResults := jsonInt(t, filter, "maxResults")
		if maxResults < 100 {
			t.Fatalf("filter.maxResults = %d; Okta pages by 100", maxResults)
		}
		bulk, _ := spc["bulk"].(map[string]any)
		jsonInt(t, bulk, "maxOperations")
		jsonInt(t, bulk, "maxPayloadSize")
		schemes, _ := spc["authenticationSchemes"].([]any)
		types := map[string]bool{}
		for i, s := range schemes {
			m, _ := s.(map[string]any)
			for _, k := range []string{"type", "name", "description"} {
				if v, _ := m[k].(string); v == "" {
					t.Fatalf("authenticationSchemes[%d] has no %s: %v", i, k, m)
				}
			}
			types[m["type"].(string)] = true
		}
		if !types["httpbasic"] || !types["oauthbearertoken"] || len(types) != 2 {
			t.Fatalf("authenticationSchemes types %v, want httpbasic and oauthbearertoken", types)
		}
		expectField(t, spc, "ServiceProviderConfig", "meta", "resourceType")
		if loc, _ := get(spc, "meta", "location").(string); loc != c.BaseURL+"/ServiceProviderConfig" {
			t.Fatalf("meta.location %q, want %q", loc, c.BaseURL+"/ServiceProviderConfig")
		}

		// What is advertised is what happens: sorting is done (see sort_e2e_test.go), and a
		// sortBy the server cannot honour is refused, not silently ignored.
		expectError(t, do(t, c, http.MethodGet, "/Users?sortBy=groups", nil), http.StatusBadRequest, scim.ErrInvalidValue)
		expectError(t, do(t, c, http.MethodGet, "/Users?sortBy=noSuchAttribute", nil), http.StatusBadRequest, scim.ErrInvalidValue)
		// Bulk is offered: /Bulk answers a BulkResponse (its limits: bulk_e2e_test.go).
		expectField(t, mustDo(t, c, http.MethodPost, "/Bulk", map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"}, "Operations": []any{}}, http.StatusOK), []any{}, "Operations")
	})
}

// TestMaxResultsEnforced checks filter.maxResults: a page never holds more, whatever
// count asks for, and the total still counts every match.
func TestMaxResultsEnforced(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		tn := srv.NewTenant(t, "maxresults")
		c := tn.Client
		spc := mustDo(t, c, http.MethodGet, "/ServiceProviderConfig", nil, http.StatusOK)
		maxResults := jsonInt(t, spc["filter"].(map[string]any), "maxResults")
		if maxResults > 2000 {
			t.Skipf("maxResults %d: too many users to create in a fast test", maxResults)
		}
		n := maxResults + 5
		// Seed through the store (the same one the server uses), concurrently, so that the
		// writes share commits. The deadline turns a store that wedges under concurrency
		// into a failure rather than a hang.
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		sem := make(chan struct{}, 64)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				_, err := srv.Store.CreateUser(ctx, tn.ID, scim.Resource{"userName": fmt.Sprintf("max%05d", i)})
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		l := mustList(t, c, fmt.Sprintf("/Users?startIndex=1&count=%d", maxResults+100))
		if l.Total != n || l.ItemsPerPage != maxResults {
			t.Fatalf("count above maxResults: total %d, itemsPerPage %d; want %d, %d", l.Total, l.ItemsPerPage, n, maxResults)
		}
		l = mustList(t, c, "/Users")
		if l.Total != n || l.ItemsPerPage > maxResults || l.ItemsPerPage == 0 {
			t.Fatalf("default page: total %d, itemsPerPage %d", l.Total, l.ItemsPerPage)
		}
		l = mustList(t, c, fmt.Sprintf("/Users?startIndex=%d&count=%d", maxResults+1, maxResults))
		if l.ItemsPerPage != 5 {
			t.Fatalf("last page holds %d, want 5", l.ItemsPerPage)
		}
		l = mustList(t, c, "/Users?count=0")
		if l.Total != n || l.ItemsPerPage != 0 {
			t.Fatalf("count=0: total %d, itemsPerPage %d", l.Total, l.ItemsPerPage)
		}
	})
}

func TestResourceTypesAndSchemasAreLists(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "discovery")

		rts := mustList(t, c, "/ResourceTypes")
		if rts.Total != 2 || rts.StartIndex != 1 {
			t.Fatalf("/ResourceTypes = total %d, startIndex %d", rts.Total, rts.StartIndex)
		}
		byID := map[string]map[string]any{}
		for _, rt := range rts.Resources {
			byID[idOf(t, rt)] = rt
			expectField(t, rt, []any{scim.ResourceTypeSchema}, "schemas")
			expectField(t, rt, "ResourceType", "meta", "resourceType")
			expectField(t, rt, c.BaseURL+"/ResourceTypes/"+idOf(t, rt), "meta", "location")
			// Each resource type can be fetched alone, identically.
			one := mustDo(t, c, http.MethodGet, "/ResourceTypes/"+idOf(t, rt), nil, http.StatusOK)
			if !jsonEq(one, rt) {
				t.Fatalf("/ResourceTypes/%s differs from its list entry", idOf(t, rt))
			}
		}
		user, group := byID["User"], byID["Group"]
		if user == nil || group == nil {
			t.Fatalf("/ResourceTypes ids %v, want User and Group", ids(rts.Resources))
		}
		expectField(t, user, "/Users", "endpoint")
		expectField(t, user, scim.UserSchema, "schema")
		expectField(t, user, []any{map[string]any{"schema": scim.EnterpriseUserSchema, "required": false}}, "schemaExtensions")
		expectField(t, group, "/Groups", "endpoint")
		expectField(t, group, scim.GroupSchema, "schema")
		expectError(t, do(t, c, http.MethodGet, "/ResourceTypes/Nope", nil), http.StatusNotFound, "")

		schemas := mustList(t, c, "/Schemas")
		got := map[string]map[string]any{}
		for _, s := range schemas.Resources {
			got[idOf(t, s)] = s
			expectField(t, s, []any{scim.SchemaSchema}, "schemas")
			expectField(t, s, "Schema", "meta", "resourceType")
			expectField(t, s, c.BaseURL+"/Schemas/"+idOf(t, s), "meta", "location")
			if attrs, _ := s["attributes"].([]any); len(attrs) == 0 {
				t.Fatalf("schema %s has no attributes", idOf(t, s))
			}
			one := mustDo(t, c, http.MethodGet, "/Schemas/"+idOf(t, s), nil, http.StatusOK)
			if !jsonEq(one, s) {
				t.Fatalf("/Schemas/%s differs from its list entry", idOf(t, s))
			}
		}
		for _, id := range []string{scim.UserSchema, scim.EnterpriseUserSchema, scim.GroupSchema} {
			if got[id] == nil {
				t.Fatalf("/Schemas lacks %s (has %v)", id, ids(schemas.Resources))
			}
		}
		// Every schema a resource type names is published.
		for _, rt := range rts.Resources {
			if got[rt["schema"].(string)] == nil {
				t.Fatalf("resource type %s names unpublished schema %s", idOf(t, rt), rt["schema"])
			}
		}
		if schemas.Total != len(got) {
			t.Fatalf("/Schemas totalResults %d for %d schemas", schemas.Total, len(got))
		}
		expectError(t, do(t, c, http.MethodGet, "/Schemas/urn:nope", nil), http.StatusNotFound, "")

		// The User schema, fetched by its URN (percent-encoded or not).
		for _, path := range []string{"/Schemas/" + scim.UserSchema, "/Schemas/" + url.PathEscape(scim.UserSchema)} {
			us := mustDo(t, c, http.MethodGet, path, nil, http.StatusOK)
			expectField(t, us, scim.UserSchema, "id")
			un := attrDef(t, us, "userName")
			expectField(t, un, "string", "type")
			expectField(t, un, "server", "uniqueness")
			expectField(t, un, false, "caseExact")
			expectField(t, un, true, "required")
			expectField(t, un, false, "multiValued")
			expectField(t, un, "readWrite", "mutability")
			expectField(t, attrDef(t, us, "groups"), "readOnly", "mutability")
			expectField(t, attrDef(t, us, "groups"), true, "multiValued")
			expectField(t, attrDef(t, us, "password"), "never", "returned")
			expectField(t, attrDef(t, us, "password"), "writeOnly", "mutability")
			expectField(t, attrDef(t, us, "active"), "boolean", "type")
		}
	})
}

// attrDef finds a top-level attribute definition in a published schema.
func attrDef(t testing.TB, schema map[string]any, name string) map[string]any {
	t.Helper()
	attrs, _ := schema["attributes"].([]any)
	for _, a := range attrs {
		m, _ := a.(map[string]any)
		if m["name"] == name {
			return m
		}
	}
	t.Fatalf("schema %v has no attribute %q", schema["id"], name)
	return nil
}

// pubAttr is a published attribute definition.
type pubAttr struct {
	Name            string
	Type            string
	MultiValued     bool
	Required        bool
	CaseExact       bool
	Mutability      string
	Returned        string
	Uniqueness      string
	CanonicalValues []string
	ReferenceTypes  []string
	Sub             []pubAttr
}

func parsePubAttr(t testing.TB, raw any) pubAttr {
	t.Helper()
	m, ok := raw.(map[string]any)
	if !ok {
		t.Fatalf("attribute definition %v is not an object", raw)
	}
	a := pubAttr{}
	a.Name, _ = m["name"].(string)
	a.Type, _ = m["type"].(string)
	a.MultiValued, _ = m["multiValued"].(bool)
	a.Required, _ = m["required"].(bool)
	a.CaseExact, _ = m["caseExact"].(bool)
	a.Mutability, _ = m["mutability"].(string)
	a.Returned, _ = m["returned"].(string)
	a.Uniqueness, _ = m["uniqueness"].(string)
	// RFC 7643 §7: these characteristics are required of every attribute definition.
	for _, k := range []string{"name", "type", "mutability", "returned", "uniqueness"} {
		if s, _ := m[k].(string); s == "" {
			t.Fatalf("attribute %q has no %s: %v", a.Name, k, m)
		}
	}
	for _, k := range []string{"multiValued", "required", "caseExact"} {
		if _, ok := m[k].(bool); !ok {
			t.Fatalf("attribute %q has no boolean %s: %v", a.Name, k, m)
		}
	}
	if cv, ok := m["canonicalValues"]; ok {
		a.CanonicalValues = stringList(t, cv)
	}
	if rt, ok := m["referenceTypes"]; ok {
		a.ReferenceTypes = stringList(t, rt)
	}
	if a.Type == "complex" {
		subs, _ := m["subAttributes"].([]any)
		if len(subs) == 0 {
			t.Fatalf("complex attribute %q has no subAttributes", a.Name)
		}
		for _, s := range subs {
			a.Sub = append(a.Sub, parsePubAttr(t, s))
		}
	}
	return a
}

func publishedAttrs(t testing.TB, c *scimclient.Client, urn string) []pubAttr {
	t.Helper()
	s := mustDo(t, c, http.MethodGet, "/Schemas/"+urn, nil, http.StatusOK)
	var out []pubAttr
	for _, raw := range s["attributes"].([]any) {
		out = append(out, parsePubAttr(t, raw))
	}
	return out
}

// sampleValue builds a valid value for a published definition (one element for a
// multi-valued attribute), salted so that values differ between attributes.
func sampleValue(a pubAttr, salt string) any {
	var v any
	switch a.Type {
	case "boolean":
		v = true
	case "integer":
		v = 7
	case "decimal":
		v = 7.5
	case "dateTime":
		v = "2024-05-06T07:08:09Z"
	case "binary":
		v = "AAEC"
	case "reference":
		v = "https://example.com/" + salt
	case "complex":
		m := map[string]any{}
		for _, s := range a.Sub {
			m[s.Name] = sampleValue(pubAttr{Name: s.Name, Type: s.Type, CanonicalValues: s.CanonicalValues}, salt+"-"+s.Name)
		}
		v = m
	default:
		if len(a.CanonicalValues) > 0 {
			v = a.CanonicalValues[0]
		} else {
			v = "v-" + salt
		}
	}
	if a.MultiValued {
		return []any{v}
	}
	return v
}

// expectedStored is what the server should return for a value sent for a definition:
// readOnly (and writeOnly, returned never) parts are ignored.
func expectedStored(a pubAttr, sent any) (any, bool) {
	if a.Mutability == "readOnly" || a.Mutability == "writeOnly" || a.Returned == "never" {
		return nil, false
	}
	if a.Type != "complex" {
		return sent, true
	}
	strip := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for _, s := range a.Sub {
			if v, ok := m[s.Name]; ok {
				if ev, keep := expectedStored(s, v); keep {
					out[s.Name] = ev
				}
			}
		}
		return out
	}
	if a.MultiValued {
		var l []any
		for _, x := range sent.([]any) {
			l = append(l, strip(x.(map[string]any)))
		}
		return l, true
	}
	return strip(sent.(map[string]any)), true
}

// TestPublishedSchemaIsEnforced derives its expectations from the published /Schemas
// definitions of User and EnterpriseUser, so that the two cannot drift apart: every
// writable attribute round-trips, read-only and write-only ones (top-level or
// sub-attributes) are ignored on write, required ones are required, wrong types are
// refused, every published attribute can be filtered on, and the published uniqueness and
// case-exactness of userName are what the server does.
func TestPublishedSchemaIsEnforced(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "schema")
		core := publishedAttrs(t, c, scim.UserSchema)
		ent := publishedAttrs(t, c, scim.EnterpriseUserSchema)

		// A group to make "groups" non-empty, and a manager.
		mgr := idOf(t, createUser(t, c, userBody("manager", nil)))
		member := idOf(t, createUser(t, c, userBody("member", nil)))
		gid := idOf(t, mustDo(t, c, http.MethodPost, "/Groups", map[string]any{
			"schemas": []any{scim.GroupSchema}, "displayName": "Role",
			"members": []any{map[string]any{"value": member}},
		}, http.StatusCreated))

		// One body with a sample value for every published attribute.
		body := map[string]any{"schemas": []any{scim.UserSchema, scim.EnterpriseUserSchema}}
		want := map[string]any{}
		for _, a := range core {
			v := sampleValue(a, a.Name)
			if a.Name == "userName" {
				v = "schema.user"
			}
			body[a.Name] = v
			if ev, ok := expectedStored(a, v); ok {
				want[a.Name] = ev
			}
		}
		entBody, entWant := map[string]any{}, map[string]any{}
		for _, a := range ent {
			v := sampleValue(a, a.Name)
			if a.Name == "manager" {
				v = map[string]any{"value": mgr, "$ref": c.BaseURL + "/Users/" + mgr, "displayName": "Not The Manager's Name"}
			}
			entBody[a.Name] = v
			if ev, ok := expectedStored(a, v); ok {
				entWant[a.Name] = ev
			}
		}
		body[scim.EnterpriseUserSchema] = entBody
		want[scim.EnterpriseUserSchema] = entWant

		check := func(u map[string]any, step string) {
			t.Helper()
			for k, w := range want {
				if !jsonEq(u[k], w) {
					t.Fatalf("%s: %s = %s, want %s", step, k, mustJSON(u[k]), mustJSON(w))
				}
			}
			for _, a := range core {
				// groups and roles are the server's: from memberships and derived from them.
				if _, ok := want[a.Name]; !ok && a.Name != "groups" && a.Name != "roles" {
					expectAbsent(t, u, a.Name)
				}
			}
		}
		u := createUser(t, c, body)
		id := idOf(t, u)
		check(u, "POST")
		expectAbsent(t, u, "groups") // readOnly: the groups sent were ignored
		expectAbsent(t, u, "roles")  // readOnly here: derived from groups, and there are none yet
		check(mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK), "GET after POST")

		// Join the group; a PUT of the same body (with its made-up "groups") keeps the
		// real groups, since "groups" is published readOnly.
		// (Group PATCH answers 204 without "attributes", RFC 7644 §3.5.2.)
		mustDo(t, c, http.MethodPatch, "/Groups/"+gid, patchBody(patchOp("add", "members", []any{map[string]any{"value": id}})), http.StatusNoContent)
		u = mustDo(t, c, http.MethodPut, "/Users/"+id, body, http.StatusOK)
		check(u, "PUT")
		realGroups := []any{map[string]any{"value": gid, "display": "Role", "type": "direct", "$ref": c.BaseURL + "/Groups/" + gid}}
		expectField(t, u, realGroups, "groups")
		// The group is a role (no role configuration): "roles" is derived, not what was sent.
		expectField(t, u, []any{map[string]any{"value": "Role"}}, "roles")
		body["groups"] = []any{}
		expectField(t, mustDo(t, c, http.MethodPut, "/Users/"+id, body, http.StatusOK), realGroups, "groups")
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK), realGroups, "groups")

		// Required attributes are required; wrong types are refused (RFC 7644 §3.12
		// invalidValue) for every published attribute.
		for _, a := range core {
			if a.Mutability == "readOnly" || a.Mutability == "writeOnly" {
				continue
			}
			if a.Required {
				b := userBody("req", nil)
				delete(b, a.Name)
				expectError(t, do(t, c, http.MethodPost, "/Users", b), http.StatusBadRequest, scim.ErrInvalidValue)
			}
			var wrong any
			switch {
			case a.Type == "boolean":
				wrong = 3
			case a.Type == "complex":
				wrong = 3
			default:
				wrong = map[string]any{"not": "a " + a.Type}
			}
			if a.MultiValued && a.Type != "complex" {
				wrong = []any{wrong}
			}
			b := userBody("wrongtype", nil)
			b[a.Name] = wrong
			t.Run("wrong type for "+a.Name, func(t *testing.T) {
				expectError(t, do(t, c, http.MethodPost, "/Users", b), http.StatusBadRequest, scim.ErrInvalidValue)
			})
		}
		expectIDs(t, filterUsers(t, c, `userName sw "wrongtype" or userName eq "req"`))

		// Every published attribute and sub-attribute can be used in a filter.
		var paths []string
		addPaths := func(prefix string, attrs []pubAttr) {
			for _, a := range attrs {
				paths = append(paths, prefix+a.Name)
				for _, s := range a.Sub {
					paths = append(paths, prefix+a.Name+"."+s.Name)
				}
			}
		}
		addPaths("", core)
		addPaths(scim.EnterpriseUserSchema+":", ent)
		for _, p := range paths {
			t.Run("filter "+p+" pr", func(t *testing.T) {
				l := filterUsers(t, c, p+" pr")
				if l.Total > 3 {
					t.Fatalf("%s pr matched %d of 3 users", p, l.Total)
				}
			})
		}
		// "pr" agrees with what the user carries.
		for k := range want {
			if k == scim.EnterpriseUserSchema {
				continue
			}
			l := filterUsers(t, c, k+" pr")
			found := false
			for _, x := range ids(l.Resources) {
				found = found || x == id
			}
			if !found {
				t.Fatalf("%s pr does not match the user that has %s", k, k)
			}
		}
		expectIDs(t, filterUsers(t, c, "groups pr"), id, member)
		expectIDs(t, filterUsers(t, c, "password pr"))

		// userName: published uniqueness "server" and caseExact false.
		un := core[0]
		for _, a := range core {
			if a.Name == "userName" {
				un = a
			}
		}
		if un.Uniqueness != "server" || un.CaseExact {
			t.Fatalf("userName published as uniqueness %q caseExact %v", un.Uniqueness, un.CaseExact)
		}
		expectError(t, do(t, c, http.MethodPost, "/Users", userBody(strings.ToUpper("schema.user"), nil)), http.StatusConflict, scim.ErrUniqueness)
		expectIDs(t, filterUsers(t, c, `userName eq "SCHEMA.USER"`), id)
	})
}

// TestReadOnlySubAttributeIgnored: manager.displayName is published readOnly (RFC 7643
// §4.3), so a value sent for it is not stored, on create, replace or PATCH.
func TestReadOnlySubAttributeIgnored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "readonly-sub")
		ent := publishedAttrs(t, c, scim.EnterpriseUserSchema)
		var mgrDef *pubAttr
		for i := range ent {
			if ent[i].Name == "manager" {
				mgrDef = &ent[i]
			}
		}
		if mgrDef == nil {
			t.Fatal("enterprise schema has no manager")
		}
		readOnly := ""
		for _, s := range mgrDef.Sub {
			if s.Mutability == "readOnly" {
				readOnly = s.Name
			}
		}
		if readOnly != "displayName" {
			t.Fatalf("manager's readOnly sub-attribute is %q, want displayName (RFC 7643 §4.3)", readOnly)
		}
		mgr := idOf(t, createUser(t, c, userBody("boss", nil)))
		u := createUser(t, c, userBody("worker", map[string]any{
			scim.EnterpriseUserSchema: map[string]any{"manager": map[string]any{"value": mgr, "displayName": "Forged"}},
		}))
		id := idOf(t, u)
		expectField(t, u, map[string]any{"value": mgr}, scim.EnterpriseUserSchema, "manager")
		u = mustDo(t, c, http.MethodPut, "/Users/"+id, userBody("worker", map[string]any{
			scim.EnterpriseUserSchema: map[string]any{"manager": map[string]any{"value": mgr, "displayName": "Forged"}},
		}), http.StatusOK)
		expectField(t, u, map[string]any{"value": mgr}, scim.EnterpriseUserSchema, "manager")
		u = mustDo(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("replace", scim.EnterpriseUserSchema+":manager", map[string]any{"value": mgr, "displayName": "Forged"})), http.StatusOK)
		expectField(t, u, map[string]any{"value": mgr}, scim.EnterpriseUserSchema, "manager")
		// Naming the readOnly sub-attribute as a PATCH target is a mutability error.
		expectError(t, do(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("replace", scim.EnterpriseUserSchema+":manager.displayName", "Forged"))), http.StatusBadRequest, scim.ErrMutability)
		expectIDs(t, filterUsers(t, c, scim.EnterpriseUserSchema+`:manager.displayName pr`))
	})
}
