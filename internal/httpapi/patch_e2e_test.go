package httpapi_test

// End-to-end tests of PATCH (RFC 7644 §3.5.2) over HTTP on every backend: the RFC's own
// examples sent as printed, for Users and Groups, each followed by an assertion on the
// whole resource a GET returns; the path forms the RFC defines; and that a PATCH whose
// one operation fails changes nothing at all.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// pj decodes a JSON literal of a test, numbers kept as json.Number like the client does.
func pj(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("test JSON: %v\n%s", err, s)
	}
	return v
}

// withoutMeta returns a copy of a rendered resource without "meta", asserting it has one.
func withoutMeta(t testing.TB, r map[string]any) map[string]any {
	t.Helper()
	if _, ok := r["meta"].(map[string]any); !ok {
		t.Fatalf("resource has no meta: %s", mustJSON(r))
	}
	out := make(map[string]any, len(r))
	for k, v := range r {
		if k != "meta" {
			out[k] = v
		}
	}
	return out
}

// expectResource asserts that a rendered resource, meta aside, is exactly want.
func expectResource(t testing.TB, step string, got, want map[string]any) {
	t.Helper()
	if g := withoutMeta(t, got); !jsonEq(g, want) {
		t.Fatalf("%s: resource\n%s\nwant\n%s", step, mustJSON(g), mustJSON(want))
	}
}

// userPatcher PATCHes one user and checks the result against a model of the user.
type userPatcher struct {
	t    *testing.T
	c    *scimclient.Client
	id   string
	want map[string]any
}

// ok sends body, expects 200 with the changed user, and that a GET returns the same.
func (u *userPatcher) ok(step string, body any, change func(want map[string]any)) {
	u.t.Helper()
	resp := do(u.t, u.c, http.MethodPatch, "/Users/"+u.id, body)
	expectStatus(u.t, resp, http.StatusOK)
	got := bodyOf(u.t, resp)
	expectETag(u.t, resp, got)
	change(u.want)
	expectResource(u.t, step, got, u.want)
	expectResource(u.t, step+" (GET)", mustDo(u.t, u.c, http.MethodGet, "/Users/"+u.id, nil, http.StatusOK), u.want)
}

// unchanged sends body, expects 200 with the user as it was and the same version: RFC
// 7644 §3.5.2.1, "If the target location already contains the value specified, no
// changes SHOULD be made to the resource ... this operation SHALL NOT change the modify
// timestamp of the resource".
func (u *userPatcher) unchanged(step string, body any) {
	u.t.Helper()
	before := mustDo(u.t, u.c, http.MethodGet, "/Users/"+u.id, nil, http.StatusOK)
	u.ok(step, body, func(map[string]any) {})
	after := mustDo(u.t, u.c, http.MethodGet, "/Users/"+u.id, nil, http.StatusOK)
	if !jsonEq(before["meta"], after["meta"]) {
		u.t.Fatalf("%s: meta changed from %s to %s", step, mustJSON(before["meta"]), mustJSON(after["meta"]))
	}
}

// fails sends body, expects a 400 of scimType, and that the user and its ETag are as
// they were.
func (u *userPatcher) fails(step string, body any, scimType string) {
	u.t.Helper()
	before := do(u.t, u.c, http.MethodGet, "/Users/"+u.id, nil)
	expectStatus(u.t, before, http.StatusOK)
	expectError(u.t, do(u.t, u.c, http.MethodPatch, "/Users/"+u.id, body), http.StatusBadRequest, scimType)
	after := do(u.t, u.c, http.MethodGet, "/Users/"+u.id, nil)
	expectStatus(u.t, after, http.StatusOK)
	expectResource(u.t, step, bodyOf(u.t, after), u.want)
	if a, b := after.Header.Get("ETag"), before.Header.Get("ETag"); a != b {
		u.t.Fatalf("%s: the failed PATCH changed the ETag from %s to %s", step, b, a)
	}
}

const e2eEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

func newBabs(t *testing.T, c *scimclient.Client) *userPatcher {
	t.Helper()
	created := createUser(t, c, pj(t, `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"userName": "bjensen",
		"externalId": "bjensen",
		"name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
		"displayName": "Babs Jensen",
		"active": true,
		"emails": [
			{"value": "bjensen@example.com", "type": "work", "primary": true},
			{"value": "babs@jensen.org", "type": "home"}
		],
		"addresses": [
			{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA", "primary": true},
			{"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA"}
		],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
			"employeeNumber": "701984",
			"department": "Tour Operations",
			"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
		}
	}`).(map[string]any))
	id := idOf(t, created)
	want := pj(t, `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"id": "`+id+`",
		"userName": "bjensen",
		"externalId": "bjensen",
		"name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
		"displayName": "Babs Jensen",
		"active": true,
		"emails": [
			{"value": "bjensen@example.com", "type": "work", "primary": true},
			{"value": "babs@jensen.org", "type": "home"}
		],
		"addresses": [
			{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA", "primary": true},
			{"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA"}
		],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
			"employeeNumber": "701984",
			"department": "Tour Operations",
			"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
		}
	}`).(map[string]any)
	expectResource(t, "created", created, want)
	return &userPatcher{t: t, c: c, id: id, want: want}
}

// TestPatchE2EUserRFCExamples sends the User examples of RFC 7644 §3.5.2 as printed.
func TestPatchE2EUserRFCExamples(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		u := newBabs(t, newClient(t, srv, "patch-rfc-users"))

		// §3.5.2.1: the home e-mail is already there and is not added twice. (The brace
		// closing the operation, which the example as printed lacks, is added.)
		u.ok("3.5.2.1 add without path", `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations":[{
       "op":"add",
       "value":{
         "emails":[
           {
             "value":"babs@jensen.org",
             "type":"home"
           }
         ],
         "nickname":"Babs"
     }}]
   }`, func(w map[string]any) { w["nickName"] = "Babs" })

		u.ok(`3.5.2.3 replace addresses[type eq "work"]`, `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations": [{
       "op":"replace",
       "path":"addresses[type eq \"work\"]",
       "value":
       {
         "type": "work",
         "streetAddress": "911 Universal City Plaza",
         "locality": "Hollywood",
         "region": "CA",
         "postalCode": "91608",
         "country": "US",
         "formatted":
   "911 Universal City Plaza\nHollywood, CA 91608 US",
         "primary": true
       }
     }]
   }`, func(w map[string]any) {
			w["addresses"] = pj(t, `[
				{"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "US",
				 "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true},
				{"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA"}]`)
		})

		u.ok(`3.5.2.3 replace addresses[type eq "work"].streetAddress`, `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations": [{
       "op":"replace",
       "path":"addresses[type eq \"work\"].streetAddress",
       "value":"1010 Broadway Ave"
     }]
   }`, func(w map[string]any) {
			w["addresses"] = pj(t, `[
				{"type": "work", "streetAddress": "1010 Broadway Ave", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "US",
				 "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true},
				{"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA"}]`)
		})

		u.ok(`3.5.2.2 remove emails[type eq "work" and value ew "example.com"]`, `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations":[{
       "op":"remove",
       "path":"emails[type eq \"work\" and value ew \"example.com\"]"
     }]
   }`, func(w map[string]any) { w["emails"] = pj(t, `[{"value": "babs@jensen.org", "type": "home"}]`) })

		// The RFC's examples without path lack the brace that closes the operation; it
		// is added.
		u.ok("3.5.2.3 replace without path", `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations": [{
       "op":"replace",
       "value":{
         "emails":[
           {
             "value":"bjensen@example.com",
             "type":"work",
             "primary":true
           },
           {
             "value":"babs@jensen.org",
             "type":"home"
           }
         ],
         "nickname":"Babs"
     }}]
   }`, func(w map[string]any) {
			w["emails"] = pj(t, `[{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}]`)
		})

		// §3.5.2.2 and §3.5.2.3: a filter that matches nothing is noTarget.
		u.fails("remove through a filter matching nothing", patchBody(patchOp("remove", `emails[type eq "other"]`)), scim.ErrNoTarget)
		u.fails("replace through a filter matching nothing", patchBody(patchOp("replace", `addresses[type eq "other"].locality`, "Rochester")), scim.ErrNoTarget)
	})
}

// TestPatchE2EUserPathForms: every path form of RFC 7644 §3.5.2 over HTTP.
func TestPatchE2EUserPathForms(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		u := newBabs(t, newClient(t, srv, "patch-paths"))
		ext := func(w map[string]any) map[string]any { return w[e2eEnterprise].(map[string]any) }

		u.ok("sub-attribute", patchBody(patchOp("replace", "name.familyName", "Smith"), patchOp("remove", "name.formatted")), func(w map[string]any) {
			w["name"] = pj(t, `{"familyName": "Smith", "givenName": "Barbara"}`)
		})
		u.ok("schema-qualified extension attribute and sub-attribute", patchBody(
			patchOp("Replace", e2eEnterprise+":department", "Marketing"),
			patchOp("replace", e2eEnterprise+":manager.value", "62d5e0d1"),
		), func(w map[string]any) {
			ext(w)["department"] = "Marketing"
			ext(w)["manager"] = map[string]any{"value": "62d5e0d1"}
		})
		u.ok("the extension URN as the path: add merges", patchBody(patchOp("add", e2eEnterprise, map[string]any{"costCenter": "4130"})), func(w map[string]any) {
			ext(w)["costCenter"] = "4130"
		})
		u.ok("the extension URN as the path: replace", patchBody(patchOp("replace", e2eEnterprise, map[string]any{"department": "Sales", "employeeNumber": nil})), func(w map[string]any) {
			ext(w)["department"] = "Sales"
			delete(ext(w), "employeeNumber")
		})
		u.ok("the extension URN as the path: remove", patchBody(patchOp("remove", e2eEnterprise)), func(w map[string]any) {
			delete(w, e2eEnterprise)
			w["schemas"] = []any{scim.UserSchema}
		})
		u.ok("the extension URN as the path: add to a user without it", patchBody(patchOp("add", e2eEnterprise, map[string]any{"division": "Theme Parks"})), func(w map[string]any) {
			w[e2eEnterprise] = map[string]any{"division": "Theme Parks"}
			w["schemas"] = []any{scim.UserSchema, e2eEnterprise}
		})
		// Microsoft Entra ID with aadOptscim062020: a filter path plus a path-less replace
		// with plain, dotted and schema-qualified keys.
		u.ok("value filter with sub-attribute, and path-less keys of every form", patchBody(
			patchOp("replace", `emails[type eq "work"].value`, "barbara@example.com"),
			patchOp("replace", "", map[string]any{
				"displayName": "Bjfe", "name.givenName": "Kkom", e2eEnterprise + ":employeeNumber": "Aklq",
			}),
		), func(w map[string]any) {
			w["emails"] = pj(t, `[{"value": "barbara@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}]`)
			w["displayName"] = "Bjfe"
			w["name"] = pj(t, `{"familyName": "Smith", "givenName": "Kkom"}`)
			ext(w)["employeeNumber"] = "Aklq"
		})
		u.ok(`addresses[type eq "work"].locality`, patchBody(patchOp("replace", `addresses[type eq "work"].locality`, "Burbank")), func(w map[string]any) {
			w["addresses"].([]any)[0].(map[string]any)["locality"] = "Burbank"
		})
		// RFC 7644 §3.5.2.1: an add of a value already present changes nothing (not even
		// the version); a primary value added makes the others non-primary.
		u.unchanged("add an e-mail already there", patchBody(patchOp("add", "emails", []any{map[string]any{"value": "BABS@jensen.org", "type": "home"}})))
		u.unchanged("Okta echoes the id", patchBody(patchOp("replace", "", map[string]any{"id": u.id, "displayName": "Bjfe"})))
		u.ok("add a primary e-mail", patchBody(patchOp("add", "emails", []any{map[string]any{"value": "b@jensen.org", "type": "other", "primary": true}})), func(w map[string]any) {
			w["emails"] = pj(t, `[{"value": "barbara@example.com", "type": "work", "primary": false}, {"value": "babs@jensen.org", "type": "home"},
				{"value": "b@jensen.org", "type": "other", "primary": true}]`)
		})
		u.fails("two primaries through a sub-attribute path", patchBody(patchOp("replace", "emails.primary", true)), scim.ErrInvalidValue)
		u.fails("a readOnly attribute", patchBody(patchOp("replace", "meta.created", "2020-01-01T00:00:00Z")), scim.ErrMutability)
		u.fails("a value of the wrong type", patchBody(patchOp("replace", "name.givenName", []any{"B"})), scim.ErrInvalidValue)
	})
}

// TestPatchE2EActiveNull: unassigning "active" would re-activate a user (see
// scim.checkDefaulted); it is refused and the user stays inactive.
func TestPatchE2EActiveNull(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "patch-active")
		u := newBabs(t, c)
		u.ok("Entra disable", patchBody(patchOp("Replace", "active", "False")), func(w map[string]any) { w["active"] = false })
		u.fails("replace active with null", patchBody(patchOp("replace", "active", nil)), scim.ErrInvalidValue)
		u.fails("remove active", patchBody(patchOp("remove", "active")), scim.ErrInvalidValue)
		u.fails("path-less active null", patchBody(patchOp("replace", "", map[string]any{"active": nil})), scim.ErrInvalidValue)
		expectIDs(t, filterUsers(t, c, `active eq false`), u.id)
		u.ok("Okta reactivate", patchBody(patchOp("replace", "", map[string]any{"active": true})), func(w map[string]any) { w["active"] = true })
	})
}

// TestPatchE2EUserAllOrNothing: RFC 7644 §3.5.2: "If a single operation encounters an error
// condition, the original SCIM resource MUST be restored, and a failure status SHALL be
// returned." Every request below has operations that succeed before the one that fails.
func TestPatchE2EUserAllOrNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		u := newBabs(t, newClient(t, srv, "patch-atomic"))
		for _, tc := range []struct {
			name     string
			body     map[string]any
			scimType string
		}{
			{"noTarget after changes", patchBody(
				patchOp("replace", "displayName", "After"),
				patchOp("remove", e2eEnterprise),
				patchOp("replace", `emails[type eq "other"].value`, "x@example.com")), scim.ErrNoTarget},
			{"mutability after changes", patchBody(
				patchOp("add", "emails", []any{map[string]any{"value": "new@example.com", "primary": true}}),
				patchOp("replace", "id", "other")), scim.ErrMutability},
			{"active null after changes", patchBody(
				patchOp("replace", "userName", "renamed"),
				patchOp("replace", "active", nil)), scim.ErrInvalidValue},
			{"invalid path after changes", patchBody(
				patchOp("remove", `addresses[type eq "home"]`),
				patchOp("replace", "nosuch", "x")), scim.ErrInvalidPath},
			{"required attribute removed last", patchBody(
				patchOp("replace", "nickName", "N"),
				patchOp("remove", "userName")), scim.ErrInvalidValue},
		} {
			u.fails(tc.name, tc.body, tc.scimType)
		}
		// The userName of a failed PATCH was not taken.
		expectIDs(t, filterUsers(t, u.c, `userName eq "renamed"`))
	})
}

// TestPatchE2EGroupRFCExamples sends the Group examples of RFC 7644 §3.5.2 as printed,
// with the example ids replaced by those of real users.
func TestPatchE2EGroupRFCExamples(t *testing.T) {
	const babsID, jamesID = "2819c223-7f76-453a-919d-413861904646", "08e1d05d-121c-4561-8b96-473d93df9210"
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "patch-rfc-groups")
		babs := idOf(t, createUser(t, c, userBody("bjensen", nil)))
		james := idOf(t, createUser(t, c, userBody("jsmith", nil)))
		mandy := idOf(t, createUser(t, c, userBody("mpepperidge", nil)))
		names := map[string]string{babs: "bjensen", james: "jsmith", mandy: "mpepperidge"}
		order := []string{babs, james, mandy} // members are listed in the users' creation order
		g := mustDo(t, c, http.MethodPost, "/Groups", map[string]any{
			"schemas": []any{scim.GroupSchema}, "displayName": "Tour Guides", "members": []any{map[string]any{"value": mandy}},
		}, http.StatusCreated)
		gid := idOf(t, g)
		real := strings.NewReplacer(babsID, babs, jamesID, james)

		expectGroup := func(step, displayName string, members ...string) {
			t.Helper()
			list := []any{}
			for _, id := range order {
				for _, m := range members {
					if m == id {
						list = append(list, map[string]any{"value": id, "$ref": srv.URL + "/Users/" + id, "display": names[id], "type": "User"})
					}
				}
			}
			want := map[string]any{"schemas": []any{scim.GroupSchema}, "id": gid, "displayName": displayName, "members": list}
			expectResource(t, step, mustDo(t, c, http.MethodGet, "/Groups/"+gid, nil, http.StatusOK), want)
		}
		patch := func(step, body string) {
			t.Helper()
			resp := do(t, c, http.MethodPatch, "/Groups/"+gid, real.Replace(body))
			if resp.Status != http.StatusNoContent {
				t.Fatalf("%s: status %d, want 204: %s", step, resp.Status, clip(resp.Body))
			}
		}
		expectGroup("created", "Tour Guides", mandy)

		patch("3.5.2.1 add a member", `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations":[
       {
        "op":"add",
        "path":"members",
        "value":[
         {
           "display": "Babs Jensen",
           "$ref":
   "https://example.com/v2/Users/2819c223...413861904646",
           "value": "2819c223-7f76-453a-919d-413861904646"
         }
        ]
       }
     ]
   }`)
		expectGroup("3.5.2.1 add a member", "Tour Guides", babs, mandy)

		patch("3.5.2.2 remove a single member", `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations":[{
       "op":"remove",
       "path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"
     }]
   }`)
		expectGroup("3.5.2.2 remove a single member", "Tour Guides", mandy)

		patch("3.5.2.2 remove all members", `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations":[{
       "op":"remove","path":"members"
     }]
   }`)
		expectGroup("3.5.2.2 remove all members", "Tour Guides")

		patch("3.5.2.2 replace all members: remove then add", `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations": [
       {
         "op":"remove","path":"members"
       },
       {
         "op":"add",
         "path":"members",
         "value":[
          {
           "display": "Babs Jensen",
           "$ref":
   "https://example.com/v2/Users/2819c223...413861904646",
           "value": "2819c223-7f76-453a-919d-413861904646"
          },
          {
           "display": "James Smith",
           "$ref":
   "https://example.com/v2/Users/08e1d05d...473d93df9210",
           "value": "08e1d05d-121c-4561-8b96-473d93df9210"
          }]
       }
     ]
   }`)
		expectGroup("3.5.2.2 remove then add", "Tour Guides", babs, james)

		// §3.5.2.3's example abbreviates the ids ("2819c223...413861904646"); they are the
		// full ids here.
		patch("3.5.2.3 replace all members", `{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations": [{
       "op":"replace",
       "path":"members",
       "value":[
         {
           "display": "Babs Jensen",
           "$ref":
   "https://example.com/v2/Users/2819c223...413861904646",
           "value": "2819c223-7f76-453a-919d-413861904646"
         },
         {
           "display": "Mandy Pepperidge",
           "$ref":
   "https://example.com/v2/Users/902c246b...816be7344a",
           "value": "`+mandy+`"
         }
       ]
     }]
   }`)
		expectGroup("3.5.2.3 replace all members", "Tour Guides", babs, mandy)

		// Okta renames with a path-less replace echoing the group's id.
		patch("Okta rename", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"replace","value":{"id":"`+gid+`","displayName":"Guides"}}]}`)
		expectGroup("Okta rename", "Guides", babs, mandy)

		// A failing operation after member and attribute changes applies nothing.
		before := do(t, c, http.MethodGet, "/Groups/"+gid, nil)
		for _, tc := range []struct {
			name     string
			body     map[string]any
			scimType string
		}{
			{"wrong type after changes", patchBody(
				patchOp("add", "members", []any{map[string]any{"value": james}}),
				patchOp("remove", `members[value eq "`+babs+`"]`),
				patchOp("replace", "displayName", true)), scim.ErrInvalidValue},
			{"id change after changes", patchBody(
				patchOp("replace", "displayName", "Renamed"),
				patchOp("remove", "members"),
				patchOp("replace", "", map[string]any{"id": "other"})), scim.ErrMutability},
			{"unknown attribute after changes", patchBody(
				patchOp("replace", "members", []any{map[string]any{"value": james}}),
				patchOp("add", "nosuch", "x")), scim.ErrInvalidPath},
			{"required attribute removed after changes", patchBody(
				patchOp("add", "members", []any{map[string]any{"value": james}}),
				patchOp("remove", "displayName")), scim.ErrInvalidValue},
		} {
			resp := do(t, c, http.MethodPatch, "/Groups/"+gid, tc.body)
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("%s: status %d, want 400", tc.name, resp.Status)
			}
			expectError(t, resp, http.StatusBadRequest, tc.scimType)
			expectGroup(tc.name, "Guides", babs, mandy)
			if got := do(t, c, http.MethodGet, "/Groups/"+gid, nil).Header.Get("ETag"); got != before.Header.Get("ETag") {
				t.Fatalf("%s: ETag %s, want unchanged %s", tc.name, got, before.Header.Get("ETag"))
			}
		}
		// James, whom the failed PATCHes would have added, has no group.
		expectAbsent(t, mustDo(t, c, http.MethodGet, "/Users/"+james, nil, http.StatusOK), "groups")
	})
}
