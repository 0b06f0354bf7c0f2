package httpapi_test

// End-to-end tests of the /Users endpoint over real HTTP on a real store, replaying what
// Okta and Microsoft Entra ID send (see /work/shared/reference/idp-dialects.md).

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// oktaCreateBody is Okta's OIN create request, literally (idp-dialects.md §1.3).
func oktaCreateBody() map[string]any {
	return map[string]any{
		"schemas":     []any{scim.UserSchema},
		"userName":    "test.user@okta.local",
		"name":        map[string]any{"givenName": "Test", "familyName": "User"},
		"emails":      []any{map[string]any{"primary": true, "value": "test.user@okta.local", "type": "work"}},
		"displayName": "Test User",
		"locale":      "en-US",
		"externalId":  "00ujl29u0le5T6Aj10h7",
		"groups":      []any{},
		"password":    "1mz050nq",
		"active":      true,
	}
}

func TestOktaOINUserLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "okta")

		// §1.1 Test Connector: no body, no Content-Type, Okta's User-Agent.
		resp := doWith(t, c, http.MethodGet, "/Users?startIndex=1&count=2", nil, hdr("User-Agent", "Okta SCIM Client 1.0.0"))
		l := expectList(t, resp)
		if l.Total != 0 || l.StartIndex != 1 || l.ItemsPerPage != 0 {
			t.Fatalf("empty tenant list = %+v, want total 0, startIndex 1, itemsPerPage 0", l)
		}

		// §1.3 uniqueness check, as Okta encodes it.
		l = mustList(t, c, "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100")
		if l.Total != 0 || len(l.Resources) != 0 || l.StartIndex != 1 {
			t.Fatalf("uniqueness check before create = %+v, want no match", l)
		}

		// Create.
		resp = do(t, c, http.MethodPost, "/Users", oktaCreateBody())
		expectStatus(t, resp, http.StatusCreated)
		u := bodyOf(t, resp)
		id := idOf(t, u)
		expectETag(t, resp, u)
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, "http://") || !strings.HasSuffix(loc, "/scim/v2/Users/"+id) {
			t.Fatalf("Location = %q, want an absolute URL ending in /scim/v2/Users/%s", loc, id)
		}
		expectField(t, u, loc, "meta", "location")
		expectField(t, u, "User", "meta", "resourceType")
		created, modified := timeOf(t, u, "meta", "created"), timeOf(t, u, "meta", "lastModified")
		if !created.Equal(modified) {
			t.Fatalf("on create, created %v != lastModified %v", created, modified)
		}
		if time.Since(created) > time.Minute || time.Until(created) > time.Minute {
			t.Fatalf("meta.created %v is not now", created)
		}
		expectField(t, u, []any{scim.UserSchema}, "schemas")
		expectField(t, u, "test.user@okta.local", "userName")
		expectField(t, u, "00ujl29u0le5T6Aj10h7", "externalId")
		expectField(t, u, map[string]any{"givenName": "Test", "familyName": "User"}, "name")
		expectField(t, u, []any{map[string]any{"primary": true, "value": "test.user@okta.local", "type": "work"}}, "emails")
		expectField(t, u, "Test User", "displayName")
		expectField(t, u, "en-US", "locale")
		expectField(t, u, true, "active")
		expectAbsent(t, u, "password", "groups")
		v1 := versionOf(t, u)

		// GET returns the same resource; unknown ids are a SCIM 404 (Okta SPEC test ids).
		got := mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		if !jsonEq(got, u) {
			t.Fatalf("GET differs from the POST response:\n%s\n%s", mustJSON(got), mustJSON(u))
		}
		for _, unknown := range []string{"010101001010101011001010101011", "00919288221112222"} {
			expectError(t, do(t, c, http.MethodGet, "/Users/"+unknown, nil), http.StatusNotFound, "")
		}

		// The uniqueness check now finds the user, also with the userName upper-cased
		// (Okta SPEC "Username Case Sensitivity Check"; userName is caseExact=false).
		for _, name := range []string{"test.user@okta.local", "TEST.USER@OKTA.LOCAL"} {
			l = mustList(t, c, "/Users?"+filterParam(fmt.Sprintf("userName eq %q", name))+"&startIndex=1&count=100")
			expectIDs(t, l, id)
		}

		// §1.5 profile update: GET, then PUT of the whole object, modified.
		put := mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		put["name"] = map[string]any{"givenName": "Another", "middleName": "Excited", "familyName": "User"}
		put["emails"] = []any{map[string]any{"primary": true, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"}}
		put["meta"] = map[string]any{"resourceType": "User"}
		put["groups"] = []any{}
		resp = do(t, c, http.MethodPut, "/Users/"+id, put)
		expectStatus(t, resp, http.StatusOK)
		u = bodyOf(t, resp)
		v2 := expectETag(t, resp, u)
		if v2 == v1 {
			t.Fatalf("version %s unchanged by a PUT that changed the name", v2)
		}
		expectField(t, u, map[string]any{"givenName": "Another", "middleName": "Excited", "familyName": "User"}, "name")
		expectField(t, u, "test.user@okta.local", "emails", "0", "display")
		if !timeOf(t, u, "meta", "lastModified").After(created) {
			t.Fatalf("lastModified not advanced by PUT")
		}
		expectField(t, u, created.Format(time.RFC3339Nano), "meta", "created")
		expectField(t, u, "00ujl29u0le5T6Aj10h7", "externalId")

		// §1.6 deactivate: path-less replace with a value object.
		deact := patchBody(patchOp("replace", "", map[string]any{"active": false}))
		u = mustDo(t, c, http.MethodPatch, "/Users/"+id, deact, http.StatusOK)
		expectField(t, u, false, "active")
		v3 := versionOf(t, u)
		if v3 == v2 {
			t.Fatal("version unchanged by deactivation")
		}
		// The user stays visible: by GET, by the userName filter and by active eq false.
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK), false, "active")
		l = filterUsers(t, c, `userName eq "test.user@okta.local"`)
		expectIDs(t, l, id)
		expectField(t, l.Resources[0], false, "active")
		expectIDs(t, filterUsers(t, c, "active eq false"), id)
		expectIDs(t, filterUsers(t, c, "active eq true"))
		expectIDs(t, mustList(t, c, "/Users?startIndex=1&count=100"), id)

		// §1.7 reactivate.
		u = mustDo(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("replace", "", map[string]any{"active": true})), http.StatusOK)
		expectField(t, u, true, "active")
		expectIDs(t, filterUsers(t, c, "active eq true"), id)
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK), true, "active")

		// Re-POST of the same userName in another case: 409 uniqueness, nothing created.
		dup := oktaCreateBody()
		dup["userName"] = "Test.User@OKTA.local"
		dup["externalId"] = "00uother"
		expectError(t, do(t, c, http.MethodPost, "/Users", dup), http.StatusConflict, scim.ErrUniqueness)
		expectIDs(t, mustList(t, c, "/Users"), id)
	})
}

func TestOktaImportPaging(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "okta")
		const n = 250
		created := createUsers(t, c, n, "import.user%03d@okta.local")
		want := map[string]bool{}
		for _, id := range created {
			want[id] = true
		}
		seen := map[string]int{}
		pages := 0
		// §1.2: Okta pages with count=100 while startIndex <= totalResults.
		for start := 1; ; start += 100 {
			l := mustList(t, c, fmt.Sprintf("/Users?startIndex=%d&count=100", start))
			pages++
			if l.Total != n {
				t.Fatalf("page at %d: totalResults %d, want %d", start, l.Total, n)
			}
			if l.StartIndex != start {
				t.Fatalf("page at %d: startIndex %d", start, l.StartIndex)
			}
			wantItems := min(100, n-start+1)
			if l.ItemsPerPage != wantItems {
				t.Fatalf("page at %d: itemsPerPage %d, want %d", start, l.ItemsPerPage, wantItems)
			}
			for _, r := range l.Resources {
				seen[idOf(t, r)]++
			}
			if start+100 > l.Total {
				break
			}
		}
		if pages != 3 {
			t.Fatalf("%d pages, want 3", pages)
		}
		if len(seen) != n {
			t.Fatalf("import saw %d distinct users, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 || !want[id] {
				t.Fatalf("user %s seen %d times (created here: %v)", id, k, want[id])
			}
		}
		// Past the end: an empty page that still reports the total.
		l := mustList(t, c, "/Users?startIndex=251&count=100")
		if l.Total != n || l.ItemsPerPage != 0 || l.StartIndex != 251 {
			t.Fatalf("page past the end = %+v", l)
		}
		// Test Connector's count=2 returns 2 of them.
		if l := mustList(t, c, "/Users?startIndex=1&count=2"); l.ItemsPerPage != 2 || l.Total != n {
			t.Fatalf("count=2 page = total %d, items %d", l.Total, l.ItemsPerPage)
		}
	})
}

func TestOktaAIWGetThenPut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "okta-aiw")
		u := createUser(t, c, oktaCreateBody())
		id := idOf(t, u)
		// Put the user in a group, so that its GET carries "groups" for Okta to echo.
		g := mustDo(t, c, http.MethodPost, "/Groups", map[string]any{
			"schemas": []any{scim.GroupSchema}, "displayName": "okta-lab-users",
			"members": []any{map[string]any{"value": id, "display": "test.user@okta.local"}},
		}, http.StatusCreated)
		gid := idOf(t, g)
		wantGroups := []any{map[string]any{"value": gid, "display": "okta-lab-users", "type": "direct", "$ref": get(g, "meta", "location")}}

		getUser := func() map[string]any {
			t.Helper()
			return mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		}
		cur := getUser()
		expectField(t, cur, wantGroups, "groups")
		expectField(t, cur, true, "active") // the GET states active, so a PUT echoes it

		// Profile push: the whole GET body, modified, echoing id, meta, groups and a
		// password (readOnly and writeOnly attributes are ignored, not rejected).
		cur["title"] = "Manager"
		cur["name"] = map[string]any{"givenName": "Another", "familyName": "User"}
		cur["password"] = "1mz050nq"
		v0 := versionOf(t, cur)
		u = mustDo(t, c, http.MethodPut, "/Users/"+id, cur, http.StatusOK)
		expectField(t, u, id, "id")
		expectField(t, u, "Manager", "title")
		expectField(t, u, map[string]any{"givenName": "Another", "familyName": "User"}, "name")
		expectField(t, u, wantGroups, "groups")
		expectField(t, u, true, "active")
		expectAbsent(t, u, "password")
		if versionOf(t, u) == v0 {
			t.Fatal("version unchanged by a PUT that changed title and name")
		}

		// An echoed "groups" that differs from the truth (empty, or naming another group)
		// is ignored: groups are readOnly and maintained through /Groups.
		for _, groups := range []any{[]any{}, []any{map[string]any{"value": "00000000-0000-4000-8000-000000000000", "display": "bogus"}}} {
			cur = getUser()
			cur["groups"] = groups
			u = mustDo(t, c, http.MethodPut, "/Users/"+id, cur, http.StatusOK)
			expectField(t, u, wantGroups, "groups")
		}
		expectIDs(t, filterUsers(t, c, fmt.Sprintf("groups.value eq %q", gid)), id)

		// Deactivate by GET + PUT active:false; the user stays in its group.
		cur = getUser()
		cur["active"] = false
		u = mustDo(t, c, http.MethodPut, "/Users/"+id, cur, http.StatusOK)
		expectField(t, u, false, "active")
		expectField(t, getUser(), false, "active")
		expectIDs(t, filterUsers(t, c, "active eq false"), id)
		members := get(mustDo(t, c, http.MethodGet, "/Groups/"+gid, nil, http.StatusOK), "members")
		if ms, _ := members.([]any); len(ms) != 1 || get(ms[0].(map[string]any), "value") != id {
			t.Fatalf("deactivated user left its group: members %s", mustJSON(members))
		}

		// Reactivate by GET + PUT active:true.
		cur = getUser()
		cur["active"] = true
		expectField(t, mustDo(t, c, http.MethodPut, "/Users/"+id, cur, http.StatusOK), true, "active")

		// A PUT without "active" must not deactivate: absent means active.
		cur = getUser()
		delete(cur, "active")
		cur["title"] = "Director"
		u = mustDo(t, c, http.MethodPut, "/Users/"+id, cur, http.StatusOK)
		expectField(t, u, "Director", "title")
		expectField(t, u, true, "active")
		expectField(t, getUser(), true, "active")
		expectIDs(t, filterUsers(t, c, "active eq true"), id)
		expectIDs(t, filterUsers(t, c, "active eq false"))

		// PUT replaces: an attribute left out is removed (RFC 7644 §3.5.1).
		cur = getUser()
		delete(cur, "title")
		u = mustDo(t, c, http.MethodPut, "/Users/"+id, cur, http.StatusOK)
		expectAbsent(t, u, "title")
		expectAbsent(t, getUser(), "title")

		// PUT to an unknown id is a 404 (Okta then stops).
		expectError(t, do(t, c, http.MethodPut, "/Users/00919288221112222", cur), http.StatusNotFound, "")
	})
}

// entraCreateBody is Entra's create request (idp-dialects.md §2.2).
func entraCreateBody(userName string, ext map[string]any) map[string]any {
	b := map[string]any{
		"schemas":    []any{scim.UserSchema, scim.EnterpriseUserSchema},
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
		"userName":   userName,
		"active":     true,
		"emails":     []any{map[string]any{"primary": true, "type": "work", "value": userName + "@testuser.com"}},
		"meta":       map[string]any{"resourceType": "User"},
		"name":       map[string]any{"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles":      []any{},
	}
	if ext != nil {
		b[scim.EnterpriseUserSchema] = ext
	}
	return b
}

func TestEntraUserLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "entra")

		// §2.1 Test Connection: a random GUID as userName matches nothing.
		l := filterUsers(t, c, `userName eq "b2b8b4c8-0d6e-4e35-9a2a-7b7bf0b6e2f4"`)
		if l.Total != 0 || len(l.Resources) != 0 {
			t.Fatalf("random GUID matched %+v", l)
		}

		mgr := createUser(t, c, entraCreateBody("Test_Manager_00aa", nil))
		mgrID := idOf(t, mgr)
		// Create with meta, roles:[] and the enterprise extension; the manager as a bare
		// string inside the extension, as Entra sends it.
		u := createUser(t, c, entraCreateBody("Test_User_00aa", map[string]any{
			"employeeNumber": "701984", "department": "Engineering", "manager": mgrID,
		}))
		id := idOf(t, u)
		expectField(t, u, []any{scim.UserSchema, scim.EnterpriseUserSchema}, "schemas")
		expectField(t, u, map[string]any{"employeeNumber": "701984", "department": "Engineering", "manager": map[string]any{"value": mgrID}}, scim.EnterpriseUserSchema)
		expectAbsent(t, u, "roles")
		expectField(t, u, "User", "meta", "resourceType")
		expectField(t, u, "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "externalId")

		// Matching.
		expectIDs(t, filterUsers(t, c, `userName eq "Test_User_00aa"`), id)
		expectIDs(t, filterUsers(t, c, `userName eq "test_user_00aa"`), id)

		patch := func(ops ...map[string]any) map[string]any {
			t.Helper()
			return mustDo(t, c, http.MethodPatch, "/Users/"+id, patchBody(ops...), http.StatusOK)
		}

		// Disable and re-enable with capitalised ops and string booleans (default Entra).
		u = patch(patchOp("Replace", "active", "False"))
		expectField(t, u, false, "active")
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK), false, "active")
		expectIDs(t, filterUsers(t, c, `userName eq "Test_User_00aa"`), id) // still found
		expectIDs(t, filterUsers(t, c, `active eq false`), id)
		u = patch(patchOp("Replace", "active", "True"))
		expectField(t, u, true, "active")
		u = patch(patchOp("replace", "active", false)) // aadOptscim062020
		expectField(t, u, false, "active")
		u = patch(patchOp("Replace", "active", "true"))
		expectField(t, u, true, "active")

		// Replace via a value filter and a sub-attribute path.
		u = patch(
			patchOp("Replace", `emails[type eq "work"].value`, "updatedEmail@microsoft.com"),
			patchOp("Replace", "name.familyName", "updatedFamilyName"),
		)
		expectField(t, u, []any{map[string]any{"primary": true, "type": "work", "value": "updatedEmail@microsoft.com"}}, "emails")
		expectField(t, u, map[string]any{"formatted": "givenName familyName", "familyName": "updatedFamilyName", "givenName": "givenName"}, "name")
		expectIDs(t, filterUsers(t, c, `emails.value eq "UPDATEDEMAIL@microsoft.com"`), id)
		expectIDs(t, filterUsers(t, c, `emails.value eq "Test_User_00aa@testuser.com"`))

		// Add a single value, replace a single value and an extension attribute by path.
		u = patch(
			patchOp("Add", "nickName", "Babs"),
			patchOp("Replace", "userName", "Test_User_00aa_renamed"),
			patchOp("Replace", scim.EnterpriseUserSchema+":employeeNumber", "Eqpj"),
		)
		expectField(t, u, "Babs", "nickName")
		expectField(t, u, "Test_User_00aa_renamed", "userName")
		expectField(t, u, "Eqpj", scim.EnterpriseUserSchema, "employeeNumber")
		expectField(t, u, "Engineering", scim.EnterpriseUserSchema, "department")

		// Path-less replace with dotted and URN-qualified keys (aadOptscim062020).
		u = patch(patchOp("replace", "", map[string]any{
			"displayName":    "Bjfe",
			"name.givenName": "Kkom",
			scim.EnterpriseUserSchema + ":employeeNumber": "Aklq",
		}))
		expectField(t, u, "Bjfe", "displayName")
		expectField(t, u, map[string]any{"formatted": "givenName familyName", "familyName": "updatedFamilyName", "givenName": "Kkom"}, "name")
		expectField(t, u, "Aklq", scim.EnterpriseUserSchema, "employeeNumber")
		expectField(t, u, "Engineering", scim.EnterpriseUserSchema, "department")

		// Manager: bare string, then [{"value":…}], through the URN path.
		mgr2 := createUser(t, c, entraCreateBody("Test_Manager_00bb", nil))
		mgr2ID := idOf(t, mgr2)
		managerPath := scim.EnterpriseUserSchema + ":manager"
		u = patch(patchOp("add", managerPath, mgr2ID))
		expectField(t, u, map[string]any{"value": mgr2ID}, scim.EnterpriseUserSchema, "manager")
		u = patch(patchOp("Add", managerPath, []any{map[string]any{"$ref": nil, "value": mgrID}}))
		expectField(t, u, map[string]any{"value": mgrID}, scim.EnterpriseUserSchema, "manager")
		u = patch(patchOp("Replace", managerPath, mgr2ID))
		expectField(t, u, map[string]any{"value": mgr2ID}, scim.EnterpriseUserSchema, "manager")
		expectIDs(t, filterUsers(t, c, fmt.Sprintf("%s.value eq %q", managerPath, mgr2ID)), id)
		u = patch(patchOp("Remove", managerPath))
		if get(u, scim.EnterpriseUserSchema, "manager") != nil {
			t.Fatalf("manager not removed: %s", mustJSON(u))
		}
		// The tutorial's form: path "manager" without the URN, value [{"$ref","value"}].
		u = patch(patchOp("Add", "manager", []any{map[string]any{"$ref": c.BaseURL + "/Users/" + mgrID, "value": mgrID}}))
		expectField(t, u, map[string]any{"value": mgrID, "$ref": c.BaseURL + "/Users/" + mgrID}, scim.EnterpriseUserSchema, "manager")
		u = patch(patchOp("replace", "", map[string]any{"department": "Sales"}))
		expectField(t, u, "Sales", scim.EnterpriseUserSchema, "department")
		// A name no schema defines is still an error.
		expectError(t, do(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("Add", "nosuchattr", "x"))), http.StatusBadRequest, scim.ErrInvalidPath)

		// An empty Operations array (Entra validator) changes nothing: 200, same version.
		before := mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		resp := do(t, c, http.MethodPatch, "/Users/"+id, patchBody())
		expectStatus(t, resp, http.StatusOK)
		after := bodyOf(t, resp)
		if !jsonEq(before, after) {
			t.Fatalf("empty PATCH changed the user:\n%s\n%s", mustJSON(before), mustJSON(after))
		}
		if resp.Header.Get("ETag") != versionOf(t, before) {
			t.Fatalf("empty PATCH ETag %q, want %q", resp.Header.Get("ETag"), versionOf(t, before))
		}

		// DELETE, then 404; the freed userName can be created again.
		resp = do(t, c, http.MethodDelete, "/Users/"+id, nil)
		expectStatus(t, resp, http.StatusNoContent)
		bodyOf(t, resp)
		expectError(t, do(t, c, http.MethodGet, "/Users/"+id, nil), http.StatusNotFound, "")
		expectError(t, do(t, c, http.MethodDelete, "/Users/"+id, nil), http.StatusNotFound, "")
		expectError(t, do(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("Replace", "active", "False"))), http.StatusNotFound, "")
		expectIDs(t, filterUsers(t, c, `userName eq "Test_User_00aa_renamed"`))
		again := createUser(t, c, entraCreateBody("Test_User_00aa_renamed", nil))
		if idOf(t, again) == id {
			t.Fatal("re-created user got the deleted user's id")
		}
		expectIDs(t, filterUsers(t, c, `userName eq "test_user_00aa_renamed"`), idOf(t, again))
	})
}

func TestUserErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "errors")
		u := createUser(t, c, userBody("bjensen", map[string]any{
			"emails": []any{map[string]any{"value": "bjensen@example.com", "type": "work"}},
		}))
		id := idOf(t, u)

		cases := []struct {
			name     string
			method   string
			path     string
			body     any
			status   int
			scimType string
		}{
			{"malformed JSON", http.MethodPost, "/Users", `{"userName": "x",`, 400, scim.ErrInvalidSyntax},
			{"JSON array body", http.MethodPost, "/Users", `[{"userName": "x"}]`, 400, scim.ErrInvalidSyntax},
			{"malformed JSON on PUT", http.MethodPut, "/Users/" + id, `{`, 400, scim.ErrInvalidSyntax},
			{"malformed JSON on PATCH", http.MethodPatch, "/Users/" + id, `not json`, 400, scim.ErrInvalidSyntax},
			{"missing userName", http.MethodPost, "/Users", map[string]any{"schemas": []any{scim.UserSchema}, "displayName": "No Name"}, 400, scim.ErrInvalidValue},
			{"empty userName", http.MethodPost, "/Users", userBody("", nil), 400, scim.ErrInvalidValue},
			{"userName removed by PUT", http.MethodPut, "/Users/" + id, map[string]any{"displayName": "x"}, 400, scim.ErrInvalidValue},
			{"active is a number", http.MethodPost, "/Users", userBody("x1", map[string]any{"active": 3}), 400, scim.ErrInvalidValue},
			{"active is a word", http.MethodPost, "/Users", userBody("x2", map[string]any{"active": "yes"}), 400, scim.ErrInvalidValue},
			{"emails is a number", http.MethodPost, "/Users", userBody("x3", map[string]any{"emails": 5}), 400, scim.ErrInvalidValue},
			{"email value is a number", http.MethodPost, "/Users", userBody("x4", map[string]any{"emails": []any{map[string]any{"value": true}}}), 400, scim.ErrInvalidValue},
			{"userName is an object", http.MethodPost, "/Users", userBody("", map[string]any{"userName": map[string]any{"a": "b"}}), 400, scim.ErrInvalidValue},
			{"name is a string", http.MethodPost, "/Users", userBody("x5", map[string]any{"name": "Babs Jensen"}), 400, scim.ErrInvalidValue},
			{"two primary emails", http.MethodPost, "/Users", userBody("x6", map[string]any{"emails": []any{
				map[string]any{"value": "a@example.com", "primary": true}, map[string]any{"value": "b@example.com", "primary": true}}}), 400, scim.ErrInvalidValue},
			{"wrong type in PATCH", http.MethodPatch, "/Users/" + id, patchBody(patchOp("replace", "active", 3)), 400, scim.ErrInvalidValue},
			{"unknown filter attribute", http.MethodGet, "/Users?" + filterParam(`nosuchattr eq "x"`), nil, 400, scim.ErrInvalidFilter},
			{"unknown filter sub-attribute", http.MethodGet, "/Users?" + filterParam(`name.nosuch eq "x"`), nil, 400, scim.ErrInvalidFilter},
			{"unparseable filter", http.MethodGet, "/Users?" + filterParam(`userName eq`), nil, 400, scim.ErrInvalidFilter},
			{"unbalanced filter", http.MethodGet, "/Users?" + filterParam(`(userName eq "x"`), nil, 400, scim.ErrInvalidFilter},
			{"unknown filter operator", http.MethodGet, "/Users?" + filterParam(`userName xx "x"`), nil, 400, scim.ErrInvalidFilter},
			{"boolean ordering filter", http.MethodGet, "/Users?" + filterParam(`active gt true`), nil, 400, scim.ErrInvalidFilter},
			{"PATCH remove without path", http.MethodPatch, "/Users/" + id, patchBody(patchOp("remove", "")), 400, scim.ErrNoTarget},
			{"PATCH replace of id", http.MethodPatch, "/Users/" + id, patchBody(patchOp("replace", "id", "something-else")), 400, scim.ErrMutability},
			{"PATCH path-less replace of id", http.MethodPatch, "/Users/" + id, patchBody(patchOp("replace", "", map[string]any{"id": "something-else"})), 400, scim.ErrMutability},
			{"PATCH add to groups", http.MethodPatch, "/Users/" + id, patchBody(patchOp("add", "groups", []any{map[string]any{"value": id}})), 400, scim.ErrMutability},
			{"PATCH remove groups", http.MethodPatch, "/Users/" + id, patchBody(patchOp("remove", "groups")), 400, scim.ErrMutability},
			{"PATCH replace meta.created", http.MethodPatch, "/Users/" + id, patchBody(patchOp("replace", "meta.created", "2020-01-01T00:00:00Z")), 400, scim.ErrMutability},
			{"PATCH replace through a filter matching nothing", http.MethodPatch, "/Users/" + id, patchBody(patchOp("replace", `emails[type eq "home"].value`, "h@example.com")), 400, scim.ErrNoTarget},
			{"PATCH unknown path", http.MethodPatch, "/Users/" + id, patchBody(patchOp("replace", "nosuchattr", "x")), 400, scim.ErrInvalidPath},
			{"PATCH unknown op", http.MethodPatch, "/Users/" + id, patchBody(patchOp("frobnicate", "displayName", "x")), 400, scim.ErrInvalidSyntax},
			{"PATCH without Operations", http.MethodPatch, "/Users/" + id, map[string]any{"schemas": []any{scim.PatchOpSchema}}, 400, scim.ErrInvalidSyntax},
			{"PATCH removing userName", http.MethodPatch, "/Users/" + id, patchBody(patchOp("remove", "userName")), 400, scim.ErrInvalidValue},
			{"bad startIndex", http.MethodGet, "/Users?startIndex=abc", nil, 400, scim.ErrInvalidValue},
			{"bad count", http.MethodGet, "/Users?count=1.5", nil, 400, scim.ErrInvalidValue},
			{"unknown user", http.MethodGet, "/Users/no-such-user", nil, 404, ""},
			{"unknown route", http.MethodGet, "/Nope", nil, 404, ""},
			{"unknown nested route", http.MethodGet, "/Users/" + id + "/extra", nil, 404, ""},
			{"unsupported method on collection", http.MethodDelete, "/Users", nil, 404, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				expectError(t, do(t, c, tc.method, tc.path, tc.body), tc.status, tc.scimType)
			})
		}

		// text/plain is refused with 415, whatever the body.
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
			path := "/Users"
			if method != http.MethodPost {
				path += "/" + id
			}
			resp := doWith(t, c, method, path, mustJSON(userBody("plain", nil)), hdr("Content-Type", "text/plain"))
			expectError(t, resp, http.StatusUnsupportedMediaType, "")
		}

		// The user is as it was after all of that.
		got := mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		if !jsonEq(got, u) {
			t.Fatalf("failed requests changed the user:\n%s\n%s", mustJSON(u), mustJSON(got))
		}
		expectIDs(t, mustList(t, c, "/Users"), id)

		// Replacing id with its own value is not a change, and not an error.
		u2 := mustDo(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("replace", "id", id)), http.StatusOK)
		expectField(t, u2, id, "id")
		u2 = mustDo(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("replace", "", map[string]any{"id": id, "displayName": "Babs"})), http.StatusOK)
		expectField(t, u2, "Babs", "displayName")
		// A path-less value echoing a GET's meta and groups is accepted; they are ignored.
		echo := mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		echo["groups"] = []any{map[string]any{"value": "00000000-0000-4000-8000-000000000000"}}
		echo["nickName"] = "Echo"
		delete(echo, "schemas")
		u2 = mustDo(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("replace", "", echo)), http.StatusOK)
		expectField(t, u2, "Echo", "nickName")
		expectAbsent(t, u2, "groups")
	})
}

func TestUserFailedPatchIsAtomic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "atomic")
		u := createUser(t, c, userBody("atomic", map[string]any{
			"displayName": "Before", "title": "Old",
			"emails": []any{map[string]any{"value": "a@example.com", "type": "work"}},
		}))
		id := idOf(t, u)
		etag0 := versionOf(t, u)
		bad := [][]map[string]any{
			{patchOp("replace", "displayName", "After"), patchOp("replace", "active", 3)},
			{patchOp("replace", "displayName", "After"), patchOp("remove", "")},
			{patchOp("add", "nickName", "Nick"), patchOp("replace", `emails[type eq "home"].value`, "x@example.com")},
			{patchOp("replace", "", map[string]any{"title": "New"}), patchOp("replace", "id", "other")},
			{patchOp("replace", "userName", "renamed"), patchOp("replace", "nosuch", "x")},
		}
		for i, ops := range bad {
			resp := do(t, c, http.MethodPatch, "/Users/"+id, patchBody(ops...))
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("bad PATCH %d: status %d, want 400: %s", i, resp.Status, clip(resp.Body))
			}
			resp = do(t, c, http.MethodGet, "/Users/"+id, nil)
			expectStatus(t, resp, http.StatusOK)
			got := bodyOf(t, resp)
			if !jsonEq(got, u) {
				t.Fatalf("bad PATCH %d changed the user:\n%s\n%s", i, mustJSON(u), mustJSON(got))
			}
			if resp.Header.Get("ETag") != etag0 {
				t.Fatalf("bad PATCH %d changed the ETag: %q, want %q", i, resp.Header.Get("ETag"), etag0)
			}
		}
		// The renamed userName of the failed PATCH was not taken.
		expectIDs(t, filterUsers(t, c, `userName eq "renamed"`))
		createUser(t, c, userBody("renamed", nil))
	})
}

func TestUserContentTypes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "ctype")
		for i, ct := range []string{
			"application/scim+json",
			"application/scim+json; charset=utf-8",
			"application/json",
			"application/json; charset=utf-8",
			"Application/SCIM+JSON; charset=UTF-8",
		} {
			t.Run(ct, func(t *testing.T) {
				h := hdr("Content-Type", ct)
				resp := doWith(t, c, http.MethodPost, "/Users", userBody(fmt.Sprintf("ct%d", i), nil), h)
				expectStatus(t, resp, http.StatusCreated)
				u := bodyOf(t, resp)
				id := idOf(t, u)
				resp = doWith(t, c, http.MethodPut, "/Users/"+id, userBody(fmt.Sprintf("ct%d", i), map[string]any{"title": "T"}), h)
				expectStatus(t, resp, http.StatusOK)
				expectField(t, bodyOf(t, resp), "T", "title")
				resp = doWith(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("replace", "title", "U")), h)
				expectStatus(t, resp, http.StatusOK)
				expectField(t, bodyOf(t, resp), "U", "title")
			})
		}
		// Responses are application/scim+json whatever the request asked for, on every
		// kind of response (bodyOf asserts it).
		resp := doWith(t, c, http.MethodGet, "/Users", nil, hdr("Accept", "application/json"))
		expectList(t, resp)
		resp = doWith(t, c, http.MethodGet, "/Users", nil, hdr("Accept", "*/*"))
		expectList(t, resp)
		expectError(t, doWith(t, c, http.MethodGet, "/Users/nope", nil, hdr("Accept", "application/json")), http.StatusNotFound, "")
		for _, ct := range []string{"text/plain", "application/xml", "application/x-www-form-urlencoded", "garbage/"} {
			expectError(t, doWith(t, c, http.MethodPost, "/Users", mustJSON(userBody("never", nil)), hdr("Content-Type", ct)), http.StatusUnsupportedMediaType, "")
		}
		expectIDs(t, filterUsers(t, c, `userName eq "never"`))
	})
}

func TestUserFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "filters")
		mk := func(userName string, extra map[string]any) string {
			return idOf(t, createUser(t, c, userBody(userName, extra)))
		}
		babs := mk("BJensen@Example.com", map[string]any{
			"externalId": "ext-Babs", "displayName": "Babs Jensen", "title": "Tour Guide",
			"name":   map[string]any{"givenName": "Barbara", "familyName": "Jensen"},
			"emails": []any{map[string]any{"value": "Babs@Example.com", "type": "work", "primary": true}, map[string]any{"value": "babs@home.example.org", "type": "home"}},
		})
		jim := mk("jsmith@example.com", map[string]any{
			"externalId": "ext-jim", "displayName": "Jim Smith",
			"name":   map[string]any{"givenName": "James", "familyName": "Smith"},
			"emails": []any{map[string]any{"value": "jim@home.example.org", "type": "home"}},
			"active": false,
		})
		ann := mk("ann.lee@corp.test", map[string]any{
			"displayName": "Ann Lee", "title": "Engineer",
			"emails": []any{map[string]any{"value": "ann@corp.test", "type": "work"}},
		})
		time.Sleep(2 * time.Millisecond)
		cutoff := timeOf(t, mustDo(t, c, http.MethodGet, "/Users/"+ann, nil, http.StatusOK), "meta", "lastModified")
		time.Sleep(2 * time.Millisecond)
		zed := mk("zed", nil) // no emails, no name, created after the cutoff

		cases := []struct {
			filter string
			want   []string
		}{
			{`userName eq "bjensen@example.com"`, []string{babs}},
			{`userName eq "BJENSEN@EXAMPLE.COM"`, []string{babs}},
			{`USERNAME EQ "bjensen@example.com"`, []string{babs}},
			{`userName eq "bjensen"`, nil},
			{`externalId eq "ext-Babs"`, []string{babs}},
			{`externalId eq "ext-babs"`, nil}, // externalId is caseExact
			{fmt.Sprintf("id eq %q", jim), []string{jim}},
			{`id eq "no-such-id"`, nil},
			{`emails.value eq "babs@example.com"`, []string{babs}},
			{`emails.value eq "BABS@HOME.EXAMPLE.ORG"`, []string{babs}},
			{`emails eq "ann@corp.test"`, []string{ann}},
			{`emails[type eq "work"]`, []string{babs, ann}},
			{`emails[type eq "work" and value co "example.com"]`, []string{babs}},
			{`emails[type eq "home"]`, []string{babs, jim}},
			{`emails[type eq "home" and value ew ".org"] and active eq true`, []string{babs}},
			{`emails[type eq "other"]`, nil},
			{`userName co "EXAMPLE"`, []string{babs, jim}},
			{`userName sw "j"`, []string{jim}},
			{`userName sw "ANN."`, []string{ann}},
			{`userName ew ".test"`, []string{ann}},
			{`displayName co "smith"`, []string{jim}},
			{`userName ne "zed"`, []string{babs, jim, ann}},
			{`title ne "Engineer"`, []string{babs, jim, zed}},
			{`title pr`, []string{babs, ann}},
			{`name.familyName pr`, []string{babs, jim}},
			{`emails pr`, []string{babs, jim, ann}},
			{`name.givenName eq "barbara"`, []string{babs}},
			{`title eq "Engineer" and userName sw "ann"`, []string{ann}},
			{`title eq "Engineer" and userName sw "bj"`, nil},
			{`title eq "Engineer" or externalId eq "ext-jim"`, []string{ann, jim}},
			{`userName eq "zed" or userName eq "ann.lee@corp.test" or userName eq "jsmith@example.com"`, []string{zed, ann, jim}},
			{`(userName eq "zed" or title pr) and not (displayName co "Lee")`, []string{zed, babs}},
			{`not (title pr)`, []string{jim, zed}},
			{`not (userName eq "zed") and not (title pr)`, []string{jim}},
			{`active eq false`, []string{jim}},
			{`active eq true`, []string{babs, ann, zed}},
			{`active eq "false"`, []string{jim}},
			{`meta.lastModified gt "` + cutoff.Format(time.RFC3339Nano) + `"`, []string{zed}},
			{`meta.lastModified ge "` + cutoff.Format(time.RFC3339Nano) + `"`, []string{ann, zed}},
			{`meta.created lt "` + cutoff.Format(time.RFC3339Nano) + `"`, []string{babs, jim}},
			{`meta.lastModified gt "2999-01-01T00:00:00Z"`, nil},
			{`schemas eq "` + scim.UserSchema + `"`, []string{babs, jim, ann, zed}},
			{`userName eq "nobody"`, nil},
		}
		for _, tc := range cases {
			t.Run(tc.filter, func(t *testing.T) {
				l := filterUsers(t, c, tc.filter)
				expectIDs(t, l, tc.want...)
				if len(tc.want) == 0 && (l.Total != 0 || l.ItemsPerPage != 0) {
					t.Fatalf("no match: %+v", l)
				}
			})
		}
		// Filter and paging combine.
		l := mustList(t, c, "/Users?"+filterParam(`userName co "example"`)+"&startIndex=2&count=1")
		if l.Total != 2 || l.ItemsPerPage != 1 || l.StartIndex != 2 {
			t.Fatalf("filtered page = %+v", l)
		}
	})
}

func TestUserETags(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "etags")
		resp := do(t, c, http.MethodPost, "/Users", userBody("etag.user", nil))
		expectStatus(t, resp, http.StatusCreated)
		u := bodyOf(t, resp)
		id := idOf(t, u)
		tag := expectETag(t, resp, u)
		if !strings.HasPrefix(tag, `W/"`) || !strings.HasSuffix(tag, `"`) {
			t.Fatalf("ETag %q is not a weak entity tag", tag)
		}
		strong := strings.TrimPrefix(tag, "W/")
		seen := map[string]bool{tag: true}

		// GET carries the same ETag; If-None-Match with it (either form) is 304.
		resp = do(t, c, http.MethodGet, "/Users/"+id, nil)
		expectStatus(t, resp, http.StatusOK)
		if got := expectETag(t, resp, bodyOf(t, resp)); got != tag {
			t.Fatalf("GET ETag %q, want %q", got, tag)
		}
		for _, inm := range []string{tag, strong, `W/"999", ` + tag} {
			resp = doWith(t, c, http.MethodGet, "/Users/"+id, nil, hdr("If-None-Match", inm))
			expectStatus(t, resp, http.StatusNotModified)
			bodyOf(t, resp)
			if resp.Header.Get("ETag") != tag {
				t.Fatalf("304 ETag %q, want %q", resp.Header.Get("ETag"), tag)
			}
		}
		resp = doWith(t, c, http.MethodGet, "/Users/"+id, nil, hdr("If-None-Match", `W/"999"`))
		expectStatus(t, resp, http.StatusOK)

		// Each successful change with a current tag (weak or strong) gives a new version.
		step := 0
		change := func(method string, body any, ifMatch string) string {
			t.Helper()
			step++
			resp := doWith(t, c, method, "/Users/"+id, body, hdr("If-Match", ifMatch))
			expectStatus(t, resp, http.StatusOK)
			nt := expectETag(t, resp, bodyOf(t, resp))
			if seen[nt] {
				t.Fatalf("step %d: version %s was already used", step, nt)
			}
			seen[nt] = true
			return nt
		}
		old := tag
		tag = change(http.MethodPatch, patchBody(patchOp("replace", "title", "One")), tag)
		tag = change(http.MethodPatch, patchBody(patchOp("replace", "title", "Two")), strings.TrimPrefix(tag, "W/"))
		change(http.MethodPut, userBody("etag.user", map[string]any{"title": "Three"}), tag) // the next uses "*"
		tag = change(http.MethodPut, userBody("etag.user", map[string]any{"title": "Four"}), "*")
		tag = change(http.MethodPatch, patchBody(patchOp("replace", "active", false)), `W/"0", `+tag)

		// A stale tag is 412, and changes nothing.
		for _, stale := range []string{old, strings.TrimPrefix(old, "W/"), `W/"12345"`} {
			expectError(t, doWith(t, c, http.MethodPatch, "/Users/"+id, patchBody(patchOp("replace", "title", "Stale")), hdr("If-Match", stale)), http.StatusPreconditionFailed, "")
			expectError(t, doWith(t, c, http.MethodPut, "/Users/"+id, userBody("etag.user", map[string]any{"title": "Stale"}), hdr("If-Match", stale)), http.StatusPreconditionFailed, "")
			expectError(t, doWith(t, c, http.MethodDelete, "/Users/"+id, nil, hdr("If-Match", stale)), http.StatusPreconditionFailed, "")
		}
		resp = do(t, c, http.MethodGet, "/Users/"+id, nil)
		expectStatus(t, resp, http.StatusOK)
		cur := bodyOf(t, resp)
		expectField(t, cur, "Four", "title")
		if got := resp.Header.Get("ETag"); got != tag {
			t.Fatalf("after stale writes ETag %q, want %q", got, tag)
		}
		// The old tag no longer gives 304.
		expectStatus(t, doWith(t, c, http.MethodGet, "/Users/"+id, nil, hdr("If-None-Match", old)), http.StatusOK)

		// meta.lastModified moves with the version.
		if !timeOf(t, cur, "meta", "lastModified").After(timeOf(t, cur, "meta", "created")) {
			t.Fatal("lastModified not after created after changes")
		}

		// DELETE with the current tag succeeds.
		expectStatus(t, doWith(t, c, http.MethodDelete, "/Users/"+id, nil, hdr("If-Match", strings.TrimPrefix(tag, "W/"))), http.StatusNoContent)
		expectError(t, do(t, c, http.MethodGet, "/Users/"+id, nil), http.StatusNotFound, "")
	})
}

func TestUserProjection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "projection")
		u := createUser(t, c, userBody("proj.user", map[string]any{
			"displayName": "Proj", "password": "s3cret!", "externalId": "x-1",
			"name":                    map[string]any{"givenName": "P", "familyName": "U"},
			"emails":                  []any{map[string]any{"value": "p@example.com", "type": "work"}},
			scim.EnterpriseUserSchema: map[string]any{"department": "R&D"},
		}))
		id := idOf(t, u)
		expectAbsent(t, u, "password")

		keys := func(m map[string]any) string {
			var ks []string
			for k := range m {
				ks = append(ks, k)
			}
			sort.Strings(ks)
			return strings.Join(ks, ",")
		}
		check := func(query, wantKeys string) map[string]any {
			t.Helper()
			got := mustDo(t, c, http.MethodGet, "/Users/"+id+"?"+query, nil, http.StatusOK)
			if k := keys(got); k != wantKeys {
				t.Fatalf("?%s returned %s, want %s", query, k, wantKeys)
			}
			l := mustList(t, c, "/Users?"+query+"&"+filterParam(`userName eq "proj.user"`))
			if len(l.Resources) != 1 || keys(l.Resources[0]) != wantKeys {
				t.Fatalf("list ?%s returned %v, want %s", query, mustJSON(l.Resources), wantKeys)
			}
			return got
		}
		got := check("attributes=userName,emails", "emails,id,schemas,userName")
		expectField(t, got, []any{map[string]any{"value": "p@example.com", "type": "work"}}, "emails")
		check("attributes=USERNAME", "id,schemas,userName")
		got = check("attributes=name.givenName", "id,name,schemas")
		expectField(t, got, map[string]any{"givenName": "P"}, "name")
		check("attributes=password", "id,schemas")
		got = check("excludedAttributes=emails", "active,displayName,externalId,id,meta,name,schemas,"+scim.EnterpriseUserSchema+",userName")
		expectAbsent(t, got, "password")
		// id and schemas are returned "always": they cannot be excluded.
		check("excludedAttributes=id,schemas,meta,emails,name,displayName,externalId,active,userName,"+scim.EnterpriseUserSchema, "id,schemas")
		got = check("attributes="+scim.EnterpriseUserSchema+":department", "id,schemas,"+scim.EnterpriseUserSchema)
		expectField(t, got, map[string]any{"department": "R&D"}, scim.EnterpriseUserSchema)

		// A write answers with the projection too, and never with the password.
		got = mustDo(t, c, http.MethodPatch, "/Users/"+id+"?attributes=displayName", patchBody(patchOp("replace", "", map[string]any{"password": "n3w", "displayName": "New"})), http.StatusOK)
		if k := keys(got); k != "displayName,id,schemas" {
			t.Fatalf("PATCH ?attributes=displayName returned %s", k)
		}
		full := mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		expectAbsent(t, full, "password")
		expectField(t, full, "New", "displayName")
	})
}

// TestEntraQuirks covers the rest of what Entra (and its validator) sends: capitalised
// attribute names, string booleans on create, explicit nulls and a typo'd schema URN.
func TestEntraQuirks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "entra-quirks")
		u := createUser(t, c, map[string]any{
			"schemas":      []any{scim.UserSchema, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"},
			"UserName":     "Quirky_User",
			"Active":       "True",
			"DisplayName":  "Quirky",
			"Emails":       []any{map[string]any{"Primary": "true", "Type": "work", "Value": "quirky@example.com"}},
			"addresses":    nil,
			"phoneNumbers": nil,
			scim.EnterpriseUserSchema: map[string]any{
				"Department": "Ops", "manager": nil,
			},
		})
		id := idOf(t, u)
		expectField(t, u, "Quirky_User", "userName")
		expectField(t, u, true, "active")
		expectField(t, u, "Quirky", "displayName")
		expectField(t, u, []any{map[string]any{"primary": true, "type": "work", "value": "quirky@example.com"}}, "emails")
		expectField(t, u, map[string]any{"department": "Ops"}, scim.EnterpriseUserSchema)
		expectAbsent(t, u, "addresses", "phoneNumbers", "UserName", "Active")

		// Capitalised paths, sub-attributes in filters and path-less keys.
		u = mustDo(t, c, http.MethodPatch, "/Users/"+id, patchBody(
			patchOp("Replace", "Active", "False"),
			patchOp("Replace", `Emails[Type eq "work"].Value`, "q2@example.com"),
			patchOp("Add", "", map[string]any{"NickName": "Q", "Name.GivenName": "Quinn"}),
		), http.StatusOK)
		expectField(t, u, false, "active")
		expectField(t, u, "q2@example.com", "emails", "0", "value")
		expectField(t, u, "Q", "nickName")
		expectField(t, u, map[string]any{"givenName": "Quinn"}, "name")
		expectIDs(t, filterUsers(t, c, `UserName eq "quirky_user" and Active eq false`), id)
		expectIDs(t, filterUsers(t, c, `name.GivenName eq "QUINN"`), id)

		// A PUT renaming onto another user's userName (in another case) is a conflict.
		other := createUser(t, c, userBody("Other_User", nil))
		expectError(t, do(t, c, http.MethodPut, "/Users/"+idOf(t, other), userBody("QUIRKY_USER", nil)), http.StatusConflict, scim.ErrUniqueness)
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+idOf(t, other), nil, http.StatusOK), "Other_User", "userName")
		// Renaming a user onto its own name in another case is not a conflict.
		expectField(t, mustDo(t, c, http.MethodPut, "/Users/"+id, userBody("QUIRKY_USER", nil), http.StatusOK), "QUIRKY_USER", "userName")
	})
}

// TestUserNamesWithSpecialCharacters: values with quotes, backslashes, SQL wildcards,
// URL-special and non-ASCII characters are matched exactly by filters (Entra: "values
// with special characters in matching attributes break filtering").
func TestUserNamesWithSpecialCharacters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "special")
		names := []string{
			`o'brien@example.com`, `quote"d@example.com`, `back\slash`, `100%_sure`, `a+b&c=d#e?f`,
			`Zoë.Ångström`, `with space`, `日本語ユーザー`, `percent%`, `under_score`,
		}
		byName := map[string]string{}
		for _, n := range names {
			byName[n] = idOf(t, createUser(t, c, userBody(n, nil)))
		}
		quote := func(s string) string {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
		for _, n := range names {
			expectIDs(t, filterUsers(t, c, "userName eq "+quote(n)), byName[n])
		}
		expectIDs(t, filterUsers(t, c, `userName eq "ZOË.ÅNGSTRÖM"`), byName[`Zoë.Ångström`])
		expectIDs(t, filterUsers(t, c, `userName co "%"`), byName[`100%_sure`], byName[`percent%`])
		expectIDs(t, filterUsers(t, c, `userName co "_"`), byName[`100%_sure`], byName[`under_score`])
		expectIDs(t, filterUsers(t, c, `userName sw "100%"`), byName[`100%_sure`])
		expectIDs(t, filterUsers(t, c, `userName ew "ユーザー"`), byName[`日本語ユーザー`])
		expectIDs(t, filterUsers(t, c, `userName co "\\"`), byName[`back\slash`])
		expectIDs(t, filterUsers(t, c, `userName co "'"`), byName[`o'brien@example.com`])
	})
}

// TestListParameters: RFC 7644 §3.4.2.4 paging edge cases, and absolute locations in lists.
func TestListParameters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "paging")
		created := createUsers(t, c, 5, "page%d")
		// "A value less than 1 SHALL be interpreted as 1."
		for _, q := range []string{"startIndex=0", "startIndex=-3"} {
			l := mustList(t, c, "/Users?"+q)
			if l.StartIndex != 1 || l.Total != 5 || l.ItemsPerPage != 5 {
				t.Fatalf("?%s = %+v", q, l)
			}
		}
		// "A negative value SHALL be interpreted as "0"": no resources, but the total.
		for _, q := range []string{"count=0", "count=-5"} {
			l := mustList(t, c, "/Users?"+q)
			if l.Total != 5 || l.ItemsPerPage != 0 {
				t.Fatalf("?%s = %+v", q, l)
			}
		}
		// Pages are in a stable order, the order of creation here.
		var paged []string
		for start := 1; start <= 5; start += 2 {
			paged = append(paged, ids(mustList(t, c, fmt.Sprintf("/Users?startIndex=%d&count=2", start)).Resources)...)
		}
		all := ids(mustList(t, c, "/Users").Resources)
		if strings.Join(paged, ",") != strings.Join(all, ",") {
			t.Fatalf("pages %v differ from the full list %v", paged, all)
		}
		sorted := append([]string(nil), created...)
		sort.Strings(sorted)
		got := append([]string(nil), all...)
		sort.Strings(got)
		if strings.Join(sorted, ",") != strings.Join(got, ",") {
			t.Fatalf("list %v, created %v", all, created)
		}
		for _, r := range mustList(t, c, "/Users").Resources {
			expectField(t, r, c.BaseURL+"/Users/"+idOf(t, r), "meta", "location")
			expectField(t, r, "User", "meta", "resourceType")
			versionOf(t, r)
		}
	})
}

// TestUserConcurrentWrites: If-Match is checked and applied atomically, concurrent PATCHes
// lose no update, and concurrent creates of one userName give one 201 and 409s.
func TestUserConcurrentWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "concurrent")
		u := createUser(t, c, userBody("race", nil))
		id := idOf(t, u)
		tag := versionOf(t, u)
		const n = 12

		parallel := func(fn func(i int) *scimclient.Response) []*scimclient.Response {
			out := make([]*scimclient.Response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					out[i] = fn(i)
				}()
			}
			close(start)
			wg.Wait()
			return out
		}
		sendOrNil := func(req scimclient.Request) *scimclient.Response {
			resp, err := c.Send(t.Context(), req)
			if err != nil {
				return &scimclient.Response{Status: -1, Body: []byte(err.Error())}
			}
			return resp
		}
		count := func(rs []*scimclient.Response) map[int]int {
			m := map[int]int{}
			for _, r := range rs {
				m[r.Status]++
			}
			return m
		}

		// n writers holding the same tag: exactly one wins, the rest get 412.
		rs := parallel(func(i int) *scimclient.Response {
			return sendOrNil(scimclient.Request{Method: http.MethodPatch, Path: "/Users/" + id,
				Body:   patchBody(patchOp("replace", "title", fmt.Sprintf("t%d", i))),
				Header: hdr("If-Match", tag)})
		})
		if got := count(rs); got[http.StatusOK] != 1 || got[http.StatusPreconditionFailed] != n-1 {
			t.Fatalf("conditional PATCH race: statuses %v, want one 200 and %d 412", got, n-1)
		}
		var winner string
		for _, r := range rs {
			if r.Status == http.StatusOK {
				winner, _ = get(bodyOf(t, r), "title").(string)
			} else {
				expectError(t, r, http.StatusPreconditionFailed, "")
			}
		}
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK), winner, "title")

		// n unconditional adds of different e-mails: none is lost.
		rs = parallel(func(i int) *scimclient.Response {
			return sendOrNil(scimclient.Request{Method: http.MethodPatch, Path: "/Users/" + id,
				Body: patchBody(patchOp("add", "emails", []any{map[string]any{"value": fmt.Sprintf("e%d@example.com", i)}}))})
		})
		if got := count(rs); got[http.StatusOK] != n {
			t.Fatalf("concurrent adds: statuses %v", got)
		}
		cur := mustDo(t, c, http.MethodGet, "/Users/"+id, nil, http.StatusOK)
		if emails, _ := cur["emails"].([]any); len(emails) != n {
			t.Fatalf("after %d concurrent adds the user has %d e-mails: %s", n, len(emails), mustJSON(cur["emails"]))
		}
		for i := range n {
			expectIDs(t, filterUsers(t, c, fmt.Sprintf(`emails.value eq "E%d@example.com"`, i)), id)
		}

		// n creates of one userName, in different cases: one 201, the rest 409 uniqueness.
		rs = parallel(func(i int) *scimclient.Response {
			name := "Same.Name"
			if i%2 == 1 {
				name = strings.ToUpper(name)
			}
			return sendOrNil(scimclient.Request{Method: http.MethodPost, Path: "/Users", Body: userBody(name, nil)})
		})
		if got := count(rs); got[http.StatusCreated] != 1 || got[http.StatusConflict] != n-1 {
			t.Fatalf("create race: statuses %v, want one 201 and %d 409", got, n-1)
		}
		for _, r := range rs {
			if r.Status == http.StatusConflict {
				expectError(t, r, http.StatusConflict, scim.ErrUniqueness)
			}
		}
		if l := filterUsers(t, c, `userName eq "same.name"`); l.Total != 1 {
			t.Fatalf("%d users named same.name", l.Total)
		}
	})
}
