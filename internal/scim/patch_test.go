package scim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Tests of PATCH (RFC 7644 §3.5.2): every case parses a request body with ParsePatch,
// applies it with ApplyPatch to a stored resource and asserts the whole resulting
// resource, or the error's status and scimType. Each case also checks that ApplyPatch left
// its input alone and that a result normalizes to itself (what the store keeps is what
// a PUT of it would keep).

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// patchUserID is the id of the stored user of these tests.
const patchUserID = "2819c223-7f76-453a-919d-413861904646"

// patchUserJSON is the stored user the cases start from (RFC 7643 §8.2's Barbara Jensen,
// trimmed): a stored resource has no id, meta or groups.
const patchUserJSON = `{
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
}`

// patchGroupJSON is the stored group of the group cases, with its members in the
// document (the HTTP layer keeps them apart; ApplyPatch treats them as any attribute).
const patchGroupJSON = `{
	"displayName": "Tour Guides",
	"members": [
		{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"},
		{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge", "$ref": "https://example.com/v2/Users/902c246b-6245-4190-8e05-00816be7344a"}
	]
}`

// patchCase is one PATCH: body is a whole request when it starts with "{", else the
// JSON array of its Operations. want lists the top-level attributes that differ from the
// start (null: removed); the assertion is on the whole resource. wantErr is a scimType.
type patchCase struct {
	name       string
	start      string // JSON of the stored resource; "" for patchUserJSON / patchGroupJSON
	body       string
	want       string
	wantErr    string
	wantDetail string
}

func pDecode(t testing.TB, s string) map[string]any {
	t.Helper()
	m, err := DecodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("test JSON: %v\n%s", err, s)
	}
	return m
}

// pJSON renders a value canonically (sorted keys, numbers as written).
func pJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "<" + err.Error() + ">"
	}
	return b.String()
}

func pWantError(t testing.TB, err error, scimType, detail string) {
	t.Helper()
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("error %v (%T), want a *scim.Error", err, err)
	}
	if e.Status != 400 || e.ScimType != scimType {
		t.Fatalf("error %d %q (%s), want 400 %q", e.Status, e.ScimType, e.Detail, scimType)
	}
	if !strings.Contains(e.Detail, detail) {
		t.Fatalf("error detail %q does not contain %q", e.Detail, detail)
	}
}

// runPatch parses and applies body, checking that the stored resource is not modified.
func runPatch(t testing.TB, rt *ResourceType, id string, start Resource, body string) (Resource, error) {
	t.Helper()
	if !strings.HasPrefix(strings.TrimSpace(body), "{") {
		body = `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ` + body + `}`
	}
	ops, err := ParsePatch(rt, pDecode(t, body))
	if err != nil {
		return nil, err
	}
	before := start.Clone()
	got, err := ApplyPatch(rt, id, start, ops)
	if !reflect.DeepEqual(map[string]any(start), map[string]any(before)) {
		t.Fatalf("ApplyPatch modified the stored resource:\n%s", pJSON(start))
	}
	if err != nil {
		if got != nil {
			t.Fatalf("ApplyPatch returned a resource with error %v", err)
		}
		return nil, err
	}
	return got, nil
}

func runPatchCases(t *testing.T, rt *ResourceType, id, defaultStart string, cases []patchCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			startJSON := tc.start
			if startJSON == "" {
				startJSON = defaultStart
			}
			start := Resource(pDecode(t, startJSON))
			got, err := runPatch(t, rt, id, start, tc.body)
			if tc.wantErr != "" {
				pWantError(t, err, tc.wantErr, tc.wantDetail)
				return
			}
			if err != nil {
				t.Fatalf("PATCH failed: %v", err)
			}
			want := map[string]any(start.Clone())
			for k, v := range pDecode(t, tc.want) {
				if v == nil {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			if g, w := pJSON(got), pJSON(want); g != w {
				t.Fatalf("result:\n%s\nwant:\n%s", g, w)
			}
			again, _, err := NormalizeResource(rt, got)
			if err != nil {
				t.Fatalf("the result does not normalize: %v", err)
			}
			if g, w := pJSON(again), pJSON(got); g != w {
				t.Fatalf("the result normalizes to something else:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

// TestPatchRFCExamplesUser: the User examples of RFC 7644 §3.5.2.1-3.
func TestPatchRFCExamplesUser(t *testing.T) {
	runPatchCases(t, NewUserResourceType(), patchUserID, patchUserJSON, []patchCase{
		{
			// §3.5.2.1: "The following example shows how to add one or more attributes to
			// a User resource without using a "path" attribute." (The brace closing the
			// operation is added: the example as printed lacks it.)
			name: "3.5.2.1 add without path: emails and nickname",
			body: `{
				"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{
					"op":"add",
					"value":{
						"emails":[{"value":"babs@jensen.org","type":"home"}],
						"nickname":"Babs"
					}
				}]
			}`,
			// The home e-mail is already there: "If the target location already contains
			// the value specified, no changes SHOULD be made to the resource".
			want: `{"nickName": "Babs"}`,
		},
		{
			name: "3.5.2.1 add without path: a new e-mail",
			body: `[{"op":"add","value":{"emails":[{"value":"barbara@jensen.org","type":"other"}],"nickname":"Babs"}}]`,
			want: `{"nickName": "Babs", "emails": [
				{"value": "bjensen@example.com", "type": "work", "primary": true},
				{"value": "babs@jensen.org", "type": "home"},
				{"value": "barbara@jensen.org", "type": "other"}]}`,
		},
		{
			// §3.5.2.2: "remove all values of a multi-valued attribute ... that match a
			// filter": the work e-mail ends with example.com.
			name: `3.5.2.2 remove emails[type eq "work" and value ew "example.com"]`,
			body: `{
				"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{
					"op":"remove",
					"path":"emails[type eq \"work\" and value ew \"example.com\"]"
				}]
			}`,
			want: `{"emails": [{"value": "babs@jensen.org", "type": "home"}]}`,
		},
		{
			name: `3.5.2.3 replace addresses[type eq "work"]`,
			body: `{
				"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
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
						"formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
						"primary": true
					}
				}]
			}`,
			want: `{"addresses": [
				{"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "US",
				 "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true},
				{"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA"}]}`,
		},
		{
			name: `3.5.2.3 replace addresses[type eq "work"].streetAddress`,
			body: `{
				"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations": [{
					"op":"replace",
					"path":"addresses[type eq \"work\"].streetAddress",
					"value":"1010 Broadway Ave"
				}]
			}`,
			want: `{"addresses": [
				{"type": "work", "streetAddress": "1010 Broadway Ave", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA", "primary": true},
				{"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood", "region": "CA", "postalCode": "91608", "country": "USA"}]}`,
		},
		{
			// §3.5.2.3: "The following example shows how to change a User's entire
			// "emails" attribute and "nickName" attribute using the "replace" operation
			// without a "path"" (RFC's "nickname" spelling; the brace closing the
			// operation is added, the example as printed lacks it).
			name:  "3.5.2.3 replace without path: emails and nickname",
			start: `{"userName":"bjensen","emails":[{"value":"babs@jensen.org","type":"home","primary":true},{"value":"b@x.org"}]}`,
			body: `{
				"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
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
					}
				}]
			}`,
			want: `{"nickName": "Babs", "emails": [
				{"value": "bjensen@example.com", "type": "work", "primary": true},
				{"value": "babs@jensen.org", "type": "home"}]}`,
		},
	})
}

// TestPatchRFCExamplesGroup: the Group examples of RFC 7644 §3.5.2.1-3, applied to a
// group document that holds its members.
func TestPatchRFCExamplesGroup(t *testing.T) {
	const mandyOnly = `{"displayName": "Tour Guides", "members": [
		{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge", "$ref": "https://example.com/v2/Users/902c246b-6245-4190-8e05-00816be7344a"}]}`
	runPatchCases(t, NewGroupResourceType(), "acbf3ae7-8463-4692-b4fd-9b4da3f908ce", patchGroupJSON, []patchCase{
		{
			name:  "3.5.2.1 add a member",
			start: mandyOnly,
			body: `{ "schemas":
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
			}`,
			want: `{"members": [
				{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge", "$ref": "https://example.com/v2/Users/902c246b-6245-4190-8e05-00816be7344a"},
				{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223...413861904646"}]}`,
		},
		{
			name: "3.5.2.1 add a member already there changes nothing",
			body: `[{"op":"add","path":"members","value":[{"display":"Babs Jensen","value":"2819c223-7f76-453a-919d-413861904646"}]}]`,
			want: `{}`,
		},
		{
			name: "3.5.2.2 remove a single member",
			body: `{
				"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{
					"op":"remove",
					"path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"
				}]
			}`,
			want: `{"members": [
				{"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge", "$ref": "https://example.com/v2/Users/902c246b-6245-4190-8e05-00816be7344a"}]}`,
		},
		{
			name: "3.5.2.2 remove all members",
			body: `{
				"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations":[{
					"op":"remove","path":"members"
				}]
			}`,
			want: `{"members": null}`,
		},
		{
			name: "3.5.2.2 replace all members: remove then add",
			body: `{
				"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
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
			}`,
			want: `{"members": [
				{"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223...413861904646"},
				{"value": "08e1d05d-121c-4561-8b96-473d93df9210", "display": "James Smith", "$ref": "https://example.com/v2/Users/08e1d05d...473d93df9210"}]}`,
		},
		{
			name: "3.5.2.3 replace all members",
			body: `{
				"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
				"Operations": [{
					"op":"replace",
					"path":"members",
					"value":[
						{
							"display": "Babs Jensen",
							"$ref":
							"https://example.com/v2/Users/2819c223...413861904646",
							"value": "2819c223...413861904646"
						},
						{
							"display": "James Smith",
							"$ref":
							"https://example.com/v2/Users/08e1d05d...473d93df9210",
							"value": "08e1d05d...473d93df9210"
						}
					]
				}]
			}`,
			want: `{"members": [
				{"value": "2819c223...413861904646", "display": "Babs Jensen", "$ref": "https://example.com/v2/Users/2819c223...413861904646"},
				{"value": "08e1d05d...473d93df9210", "display": "James Smith", "$ref": "https://example.com/v2/Users/08e1d05d...473d93df9210"}]}`,
		},
		{
			// §3.5.2.2: a filter that matches no member: "noTarget".
			name:    "remove a member that is not there",
			body:    `[{"op":"remove","path":"members[value eq \"08e1d05d-121c-4561-8b96-473d93df9210\"]"}]`,
			wantErr: ErrNoTarget,
		},
		{
			// RFC 7644 §3.5.2: "A client MUST NOT modify an attribute that has mutability
			// ... "immutable"": a member's sub-attributes are immutable (RFC 7643 §4.2).
			name:    "a member's display is immutable",
			body:    `[{"op":"replace","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"].display","value":"Barbara"}]`,
			wantErr: ErrMutability, wantDetail: "immutable",
		},
		{
			name:    "a member's value is immutable through a whole-value replace",
			body:    `[{"op":"replace","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"]","value":{"value":"other"}}]`,
			wantErr: ErrMutability, wantDetail: "immutable",
		},
		{
			name: "an immutable sub-attribute set to its own value is no change",
			body: `[{"op":"replace","path":"members[value eq \"2819c223-7f76-453a-919d-413861904646\"].display","value":"Babs Jensen"}]`,
			want: `{}`,
		},
		{
			name: "Okta rename: path-less replace echoing the group's id",
			body: `[{"op":"replace","value":{"id":"acbf3ae7-8463-4692-b4fd-9b4da3f908ce","displayName":"Guides"}}]`,
			want: `{"displayName": "Guides"}`,
		},
	})
}

// TestPatchPathForms: add, replace and remove on every form of path of RFC 7644 §3.5.2
// ("PATH = attrPath / valuePath [subAttr]", §3.10 schema-qualified names).
func TestPatchPathForms(t *testing.T) {
	runPatchCases(t, NewUserResourceType(), patchUserID, patchUserJSON, []patchCase{
		// attribute
		{name: "add a new attribute", body: `[{"op":"add","path":"nickName","value":"Babs"}]`, want: `{"nickName":"Babs"}`},
		{name: "add to a single-valued attribute replaces it", body: `[{"op":"add","path":"displayName","value":"Barbara"}]`, want: `{"displayName":"Barbara"}`},
		{name: "replace an attribute", body: `[{"op":"replace","path":"displayName","value":"Barbara"}]`, want: `{"displayName":"Barbara"}`},
		{name: "replace a missing attribute adds it", body: `[{"op":"replace","path":"title","value":"Tour Guide"}]`, want: `{"title":"Tour Guide"}`},
		{name: "remove an attribute", body: `[{"op":"remove","path":"displayName"}]`, want: `{"displayName":null}`},
		{name: "remove a missing attribute", body: `[{"op":"remove","path":"title"}]`, want: `{}`},
		{name: "replace with null unassigns", body: `[{"op":"replace","path":"displayName","value":null}]`, want: `{"displayName":null}`},
		{name: "attribute names are case-insensitive", body: `[{"op":"replace","path":"DISPLAYNAME","value":"B"}]`, want: `{"displayName":"B"}`},
		{name: "core schema-qualified attribute", body: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:displayName","value":"B"}]`, want: `{"displayName":"B"}`},
		{name: "common attribute externalId", body: `[{"op":"replace","path":"externalId","value":"00u1"}]`, want: `{"externalId":"00u1"}`},
		{
			name: "replace a complex attribute merges its sub-attributes",
			body: `[{"op":"replace","path":"name","value":{"givenName":"Babs","middleName":"Jane"}}]`,
			want: `{"name":{"formatted":"Ms. Barbara J Jensen III","familyName":"Jensen","givenName":"Babs","middleName":"Jane"}}`,
		},
		{
			name: "a null sub-attribute in a complex value unassigns it",
			body: `[{"op":"replace","path":"name","value":{"formatted":null,"givenName":"Babs"}}]`,
			want: `{"name":{"familyName":"Jensen","givenName":"Babs"}}`,
		},
		{name: "remove a complex attribute", body: `[{"op":"remove","path":"name"}]`, want: `{"name":null}`},
		{name: "replace a complex attribute with null", body: `[{"op":"replace","path":"name","value":null}]`, want: `{"name":null}`},
		// sub-attribute
		{
			name: "add a sub-attribute",
			body: `[{"op":"add","path":"name.middleName","value":"Jane"}]`,
			want: `{"name":{"formatted":"Ms. Barbara J Jensen III","familyName":"Jensen","givenName":"Barbara","middleName":"Jane"}}`,
		},
		{
			name: "replace a sub-attribute",
			body: `[{"op":"replace","path":"name.familyName","value":"Smith"}]`,
			want: `{"name":{"formatted":"Ms. Barbara J Jensen III","familyName":"Smith","givenName":"Barbara"}}`,
		},
		{
			name: "remove a sub-attribute",
			body: `[{"op":"remove","path":"name.formatted"}]`,
			want: `{"name":{"familyName":"Jensen","givenName":"Barbara"}}`,
		},
		{
			name: "removing the last sub-attributes unassigns the attribute",
			body: `[{"op":"remove","path":"name.formatted"},{"op":"remove","path":"name.familyName"},{"op":"remove","path":"name.givenName"}]`,
			want: `{"name":null}`,
		},
		{
			name:  "a sub-attribute of a missing complex attribute creates it",
			start: `{"userName":"bjensen"}`,
			body:  `[{"op":"replace","path":"name.givenName","value":"Barbara"}]`,
			want:  `{"name":{"givenName":"Barbara"}}`,
		},
		{
			name: "a sub-attribute of a multi-valued attribute without filter sets it on every value",
			body: `[{"op":"replace","path":"addresses.country","value":"US"}]`,
			want: `{"addresses":[
				{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood","region":"CA","postalCode":"91608","country":"US","primary":true},
				{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood","region":"CA","postalCode":"91608","country":"US"}]}`,
		},
		{
			name:  "a sub-attribute of a missing multi-valued attribute creates a value",
			start: `{"userName":"bjensen"}`,
			body:  `[{"op":"add","path":"emails.value","value":"b@example.com"}]`,
			want:  `{"emails":[{"value":"b@example.com"}]}`,
		},
		// schema-qualified extension attributes
		{
			name: "add an extension attribute",
			body: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter","value":"4130"}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","department":"Tour Operations","costCenter":"4130","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`,
		},
		{
			name: "replace an extension attribute",
			body: `[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Marketing"}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","department":"Marketing","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`,
		},
		{
			name: "remove an extension attribute",
			body: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`,
		},
		{
			name: "replace an extension sub-attribute manager.value",
			body: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"62d5e0d1"}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","department":"Tour Operations","manager":{"value":"62d5e0d1"}}}`,
		},
		{
			name: "remove an extension sub-attribute manager.value",
			body: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","department":"Tour Operations"}}`,
		},
		{
			name: "removing every extension attribute unassigns the extension",
			body: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
				{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"},
				{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]`,
			want: `{"` + enterpriseURN + `":null}`,
		},
		{
			name:  "an extension attribute on a user without the extension",
			start: `{"userName":"bjensen"}`,
			body:  `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Ops"}]`,
			want:  `{"` + enterpriseURN + `":{"department":"Ops"}}`,
		},
		{
			// Microsoft Entra ID: {"op":"Add","path":"manager","value":[{"$ref":…,"value":…}]}.
			name: "Entra manager: unqualified path, one-element array",
			body: `[{"op":"Add","path":"manager","value":[{"$ref":"http://example.com/scim/Users/62d5e0d1","value":"62d5e0d1"}]}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","department":"Tour Operations","manager":{"value":"62d5e0d1","$ref":"http://example.com/scim/Users/62d5e0d1"}}}`,
		},
		{
			name: "Entra manager: a bare string is its value",
			body: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"62d5e0d1"}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","department":"Tour Operations","manager":{"value":"62d5e0d1"}}}`,
		},
		// the whole extension, named by its URN
		{
			name: "add to the extension URN merges its attributes",
			body: `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"costCenter":"4130","department":"Marketing"}}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","department":"Marketing","costCenter":"4130","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`,
		},
		{
			name: "replace the extension URN: given attributes replaced, the others kept",
			body: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"manager":{"value":"62d5e0d1"},"division":"Theme Parks"}}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","department":"Tour Operations","division":"Theme Parks","manager":{"value":"62d5e0d1"}}}`,
		},
		{
			name:  "add the extension URN to a user without it",
			start: `{"userName":"bjensen"}`,
			body:  `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"employeeNumber":"42","manager.value":"62d5e0d1"}}]`,
			want:  `{"` + enterpriseURN + `":{"employeeNumber":"42","manager":{"value":"62d5e0d1"}}}`,
		},
		{
			name: "remove the extension URN",
			body: `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}]`,
			want: `{"` + enterpriseURN + `":null}`,
		},
		{
			name: "extension URNs are case-insensitive",
			body: `[{"op":"remove","path":"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER"}]`,
			want: `{"` + enterpriseURN + `":null}`,
		},
		{
			name: "replace the extension URN with null unassigns it",
			body: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":null}]`,
			want: `{"` + enterpriseURN + `":null}`,
		},
		{
			name:    "the extension URN with a value that is not an object",
			body:    `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":"Marketing"}]`,
			wantErr: ErrInvalidValue, wantDetail: "must be an object",
		},
		{
			name:    "the extension URN with an attribute it does not have",
			body:    `[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"nickName":"Babs"}}]`,
			wantErr: ErrInvalidValue, wantDetail: "nickName",
		},
		// value filters
		{
			name: `replace emails[type eq "work"]: the matched value is replaced`,
			body: `[{"op":"replace","path":"emails[type eq \"work\"]","value":{"value":"babs@example.com","type":"work"}}]`,
			want: `{"emails":[{"value":"babs@example.com","type":"work"},{"value":"babs@jensen.org","type":"home"}]}`,
		},
		{
			name: `replace emails[type eq "work"] keeps the filter's type when the value has none`,
			body: `[{"op":"replace","path":"emails[type eq \"work\"]","value":{"value":"babs@example.com","primary":true}}]`,
			want: `{"emails":[{"value":"babs@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]}`,
		},
		{
			name: `add emails[type eq "work"]: the given sub-attributes are set on the matched value`,
			body: `[{"op":"add","path":"emails[type eq \"work\"]","value":{"display":"Work"}}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true,"display":"Work"},{"value":"babs@jensen.org","type":"home"}]}`,
		},
		{
			name: `replace emails[type eq "work"].value`,
			body: `[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@example.com"}]`,
			want: `{"emails":[{"value":"updatedEmail@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"}]}`,
		},
		{
			name: `remove emails[type eq "work"].primary`,
			body: `[{"op":"remove","path":"emails[type eq \"work\"].primary"}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work"},{"value":"babs@jensen.org","type":"home"}]}`,
		},
		{
			name: `remove emails[type eq "home"]`,
			body: `[{"op":"remove","path":"emails[type eq \"home\"]"}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true}]}`,
		},
		{
			name: `removing every value through filters unassigns the attribute`,
			body: `[{"op":"remove","path":"emails[type eq \"home\" or type eq \"work\"]"}]`,
			want: `{"emails":null}`,
		},
		{
			name: `replace addresses[type eq "work"].locality`,
			body: `[{"op":"replace","path":"addresses[type eq \"work\"].locality","value":"Burbank"}]`,
			want: `{"addresses":[
				{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Burbank","region":"CA","postalCode":"91608","country":"USA","primary":true},
				{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood","region":"CA","postalCode":"91608","country":"USA"}]}`,
		},
		{
			name: `a filter matching several values changes them all`,
			body: `[{"op":"replace","path":"addresses[locality eq \"hollywood\"].region","value":"California"}]`,
			want: `{"addresses":[
				{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood","region":"California","postalCode":"91608","country":"USA","primary":true},
				{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood","region":"California","postalCode":"91608","country":"USA"}]}`,
		},
		{
			// Microsoft Entra ID adds a first value through a filter matching nothing.
			name: `add emails[type eq "other"].value creates the value the filter describes`,
			body: `[{"op":"Add","path":"emails[type eq \"other\"].value","value":"babs@other.org"}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"},{"value":"babs@other.org","type":"other"}]}`,
		},
		{
			name:  `Entra builds a work address sub-attribute by sub-attribute`,
			start: `{"userName":"bjensen"}`,
			body: `[{"op":"Add","path":"addresses[type eq \"work\"].streetAddress","value":"Street"},
				{"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Locality"},
				{"op":"Add","path":"addresses[type eq \"work\"].country","value":"Country"}]`,
			want: `{"addresses":[{"type":"work","streetAddress":"Street","locality":"Locality","country":"Country"}]}`,
		},
		{
			name: `add emails[type eq "other"] with a whole value`,
			body: `[{"op":"add","path":"emails[type eq \"other\"]","value":{"value":"babs@other.org"}}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"},{"value":"babs@other.org","type":"other"}]}`,
		},
		{
			name:    `add through a filter matching nothing, with a value the filter would not match`,
			body:    `[{"op":"add","path":"emails[type eq \"other\"]","value":{"value":"babs@other.org","type":"home"}}]`,
			wantErr: ErrNoTarget,
		},
		{
			name:    `add through a filter that is no equality and matches nothing`,
			body:    `[{"op":"add","path":"emails[value ew \"other.org\"].display","value":"Other"}]`,
			wantErr: ErrNoTarget,
		},
		{
			name: `add sets a sub-attribute of the matched values`,
			body: `[{"op":"add","path":"emails[type eq \"home\"].display","value":"Home"}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home","display":"Home"}]}`,
		},
		{
			name: `schema-qualified value filter path`,
			body: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"home\"].value","value":"b@jensen.org"}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"b@jensen.org","type":"home"}]}`,
		},
		// whole multi-valued attribute
		{
			name: "replace a multi-valued attribute replaces all its values",
			body: `[{"op":"replace","path":"emails","value":[{"value":"b@example.com","type":"work"}]}]`,
			want: `{"emails":[{"value":"b@example.com","type":"work"}]}`,
		},
		{
			name: "replace a multi-valued attribute with an empty array unassigns it",
			body: `[{"op":"replace","path":"emails","value":[]}]`,
			want: `{"emails":null}`,
		},
		{name: "remove a multi-valued attribute", body: `[{"op":"remove","path":"emails"}]`, want: `{"emails":null}`},
		{
			// Microsoft Entra ID removes values by listing them.
			name: "remove with a value list removes those values",
			body: `[{"op":"Remove","path":"emails","value":[{"value":"BABS@jensen.org"}]}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true}]}`,
		},
	})
}

// TestPatchPathless: add and replace without a path (RFC 7644 §3.5.2.1, §3.5.2.3), with the
// key forms identity providers send.
func TestPatchPathless(t *testing.T) {
	runPatchCases(t, NewUserResourceType(), patchUserID, patchUserJSON, []patchCase{
		{
			name: "plain keys",
			body: `[{"op":"replace","value":{"displayName":"Barbara","title":"Guide"}}]`,
			want: `{"displayName":"Barbara","title":"Guide"}`,
		},
		{
			// Microsoft Entra ID with aadOptscim062020.
			name: "dotted and schema-qualified keys",
			body: `[{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]`,
			want: `{"displayName":"Bjfe","name":{"formatted":"Ms. Barbara J Jensen III","familyName":"Unua","givenName":"Kkom"},
				"` + enterpriseURN + `":{"employeeNumber":"Aklq","department":"Tour Operations","manager":{"value":"26118915-6090-4610-87e4-49d8ca9f808d"}}}`,
		},
		{
			name: "an extension URN key with an object of its attributes",
			body: `[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Marketing","manager":{"value":"62d5e0d1"}}}}]`,
			want: `{"` + enterpriseURN + `":{"employeeNumber":"701984","department":"Marketing","manager":{"value":"62d5e0d1"}}}`,
		},
		{
			name: "an extension URN key with null unassigns the extension",
			body: `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":null}}]`,
			want: `{"` + enterpriseURN + `":null}`,
		},
		{
			name: "a whole attribute and one of its sub-attributes: the sub-attribute applies last",
			body: `[{"op":"replace","value":{"name.givenName":"B","name":{"givenName":"A","familyName":"J"}}}]`,
			want: `{"name":{"formatted":"Ms. Barbara J Jensen III","familyName":"J","givenName":"B"}}`,
		},
		{
			// Okta deactivation and its group rename echo id; "schemas" and "meta" are
			// echoed from a GET.
			name: "echoed id, schemas, meta and groups are not changes",
			body: `[{"op":"replace","value":{"id":"2819c223-7f76-453a-919d-413861904646","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
				"meta":{"resourceType":"User","version":"W/\"1\""},"groups":[{"value":"g1"}],"active":false}}]`,
			want: `{"active":false}`,
		},
		{
			name: "a null key unassigns the attribute",
			body: `[{"op":"replace","value":{"displayName":null}}]`,
			want: `{"displayName":null}`,
		},
		{
			name: "add without path merges multi-valued attributes",
			body: `[{"op":"add","value":{"emails":[{"value":"b@example.org","type":"other"}]}}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"},{"value":"b@example.org","type":"other"}]}`,
		},
		{
			name: "replace without path replaces multi-valued attributes",
			body: `[{"op":"replace","value":{"emails":[{"value":"b@example.org","type":"other"}]}}]`,
			want: `{"emails":[{"value":"b@example.org","type":"other"}]}`,
		},
		{
			name:    "an unknown key",
			body:    `[{"op":"replace","value":{"nosuch":"x"}}]`,
			wantErr: ErrInvalidValue, wantDetail: "nosuch",
		},
		{
			name:    "the same attribute twice in different cases",
			body:    `[{"op":"replace","value":{"displayName":"A","DisplayName":"B"}}]`,
			wantErr: ErrInvalidSyntax, wantDetail: "case-insensitive",
		},
		{
			name:    "the same attribute plain and schema-qualified",
			body:    `[{"op":"replace","value":{"displayName":"A","urn:ietf:params:scim:schemas:core:2.0:User:displayName":"B"}}]`,
			wantErr: ErrInvalidSyntax, wantDetail: "twice",
		},
		{
			name:    "the same extension attribute in the URN object and qualified",
			body:    `[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"A"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"B"}}]`,
			wantErr: ErrInvalidSyntax, wantDetail: "twice",
		},
		{
			name:    "a value that is not an object",
			body:    `[{"op":"add","value":"Babs"}]`,
			wantErr: ErrInvalidSyntax,
		},
	})
}

// TestPatchMultiValued: RFC 7644 §3.5.2.1 add merges without duplicates, and RFC 7643
// §2.4 / RFC 7644 §3.5.2 keep "primary" on at most one value.
func TestPatchMultiValued(t *testing.T) {
	runPatchCases(t, NewUserResourceType(), patchUserID, patchUserJSON, []patchCase{
		{
			name: "adding a value already there changes nothing",
			body: `[{"op":"add","path":"emails","value":[{"value":"babs@jensen.org","type":"home"}]}]`,
			want: `{}`,
		},
		{
			name: "values compare case-insensitively where the schema says so",
			body: `[{"op":"add","path":"emails","value":[{"value":"Babs@Jensen.ORG","type":"Home"}]}]`,
			want: `{}`,
		},
		{
			name: "the same value twice in one add is added once",
			body: `[{"op":"add","path":"emails","value":[{"value":"b@x.org","type":"other"},{"value":"b@x.org","type":"other"}]}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"},{"value":"b@x.org","type":"other"}]}`,
		},
		{
			name: "the same address with another type is another value",
			body: `[{"op":"add","path":"emails","value":[{"value":"babs@jensen.org","type":"work"}]}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"},{"value":"babs@jensen.org","type":"work"}]}`,
		},
		{
			name: "adding a primary value makes the others non-primary",
			body: `[{"op":"add","path":"emails","value":[{"value":"b@x.org","type":"other","primary":true}]}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home"},{"value":"b@x.org","type":"other","primary":true}]}`,
		},
		{
			name: "re-adding an existing value as primary moves primary to it",
			body: `[{"op":"add","path":"emails","value":[{"value":"babs@jensen.org","type":"home","primary":true}]}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home","primary":true}]}`,
		},
		{
			name: "setting primary through a filter",
			body: `[{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home","primary":true}]}`,
		},
		{
			name: "setting primary through a filter, with Entra's string boolean",
			body: `[{"op":"Replace","path":"addresses[type eq \"home\"].primary","value":"True"}]`,
			want: `{"addresses":[
				{"type":"work","streetAddress":"100 Universal City Plaza","locality":"Hollywood","region":"CA","postalCode":"91608","country":"USA","primary":false},
				{"type":"home","streetAddress":"456 Hollywood Blvd","locality":"Hollywood","region":"CA","postalCode":"91608","country":"USA","primary":true}]}`,
		},
		{
			name: "replacing a matched value with a primary one",
			body: `[{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"babs@jensen.org","primary":true}}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home","primary":true}]}`,
		},
		{
			name: "adding through a filter matching nothing with primary",
			body: `[{"op":"add","path":"emails[type eq \"other\" and primary eq true].value","value":"b@x.org"}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":false},{"value":"babs@jensen.org","type":"home"},{"value":"b@x.org","type":"other","primary":true}]}`,
		},
		{
			name:    "two primary values in one add",
			body:    `[{"op":"add","path":"emails","value":[{"value":"a@x.org","primary":true},{"value":"b@x.org","primary":true}]}]`,
			wantErr: ErrInvalidValue, wantDetail: "primary",
		},
		{
			name:    "primary set on every value through a sub-attribute path",
			body:    `[{"op":"replace","path":"emails.primary","value":true}]`,
			wantErr: ErrInvalidValue, wantDetail: "primary",
		},
		{
			name:    "primary set on several values through a filter",
			body:    `[{"op":"replace","path":"addresses[locality eq \"Hollywood\"].primary","value":true}]`,
			wantErr: ErrInvalidValue, wantDetail: "primary",
		},
	})
}

// TestPatchErrors: what a PATCH must refuse, with its scimType (RFC 7644 §3.5.2, §3.12).
func TestPatchErrors(t *testing.T) {
	runPatchCases(t, NewUserResourceType(), patchUserID, patchUserJSON, []patchCase{
		// noTarget
		{
			name:    "remove without path",
			body:    `[{"op":"remove"}]`,
			wantErr: ErrNoTarget,
		},
		{
			name:    "remove with an empty path",
			body:    `[{"op":"remove","path":" "}]`,
			wantErr: ErrNoTarget,
		},
		{
			name:    "replace through a filter matching nothing",
			body:    `[{"op":"replace","path":"emails[type eq \"other\"].value","value":"x@example.com"}]`,
			wantErr: ErrNoTarget, wantDetail: "emails",
		},
		{
			name:    "replace a whole value through a filter matching nothing",
			body:    `[{"op":"replace","path":"addresses[type eq \"other\"]","value":{"locality":"Rochester"}}]`,
			wantErr: ErrNoTarget,
		},
		{
			name:    "replace a sub-attribute through a filter matching nothing",
			body:    `[{"op":"replace","path":"addresses[type eq \"other\"].locality","value":"Rochester"}]`,
			wantErr: ErrNoTarget,
		},
		{
			name:    "remove through a filter matching nothing",
			body:    `[{"op":"remove","path":"emails[type eq \"other\"]"}]`,
			wantErr: ErrNoTarget,
		},
		{
			name:    "remove a sub-attribute through a filter matching nothing",
			body:    `[{"op":"remove","path":"emails[value eq \"nobody@example.com\"].display"}]`,
			wantErr: ErrNoTarget,
		},
		// mutability
		{name: "replace id", body: `[{"op":"replace","path":"id","value":"other"}]`, wantErr: ErrMutability, wantDetail: "id"},
		{name: "remove id", body: `[{"op":"remove","path":"id"}]`, wantErr: ErrMutability},
		{name: "path-less replace of id", body: `[{"op":"replace","value":{"id":"other"}}]`, wantErr: ErrMutability},
		{name: "replace meta", body: `[{"op":"replace","path":"meta","value":{"resourceType":"User"}}]`, wantErr: ErrMutability},
		{name: "replace meta.created", body: `[{"op":"replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}]`, wantErr: ErrMutability},
		{name: "add to groups", body: `[{"op":"add","path":"groups","value":[{"value":"g1"}]}]`, wantErr: ErrMutability},
		{name: "remove groups", body: `[{"op":"remove","path":"groups"}]`, wantErr: ErrMutability},
		{
			name:    "replace the manager's readOnly displayName",
			body:    `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName","value":"Boss"}]`,
			wantErr: ErrMutability, wantDetail: "readOnly",
		},
		// invalidValue: wrong types
		{name: "active is a number", body: `[{"op":"replace","path":"active","value":3}]`, wantErr: ErrInvalidValue, wantDetail: "boolean"},
		{name: "active is a word", body: `[{"op":"replace","path":"active","value":"yes"}]`, wantErr: ErrInvalidValue, wantDetail: "boolean"},
		{name: "displayName is an object", body: `[{"op":"replace","path":"displayName","value":{"a":"b"}}]`, wantErr: ErrInvalidValue, wantDetail: "string"},
		{name: "name is a string", body: `[{"op":"replace","path":"name","value":"Babs Jensen"}]`, wantErr: ErrInvalidValue, wantDetail: "object"},
		{name: "emails is a number", body: `[{"op":"add","path":"emails","value":5}]`, wantErr: ErrInvalidValue},
		{name: "an e-mail value is a boolean", body: `[{"op":"replace","path":"emails[type eq \"work\"].value","value":true}]`, wantErr: ErrInvalidValue},
		{name: "a sub-attribute of the wrong type", body: `[{"op":"replace","path":"name.givenName","value":["B"]}]`, wantErr: ErrInvalidValue},
		{name: "a value filter replace with a number", body: `[{"op":"replace","path":"emails[type eq \"work\"]","value":5}]`, wantErr: ErrInvalidValue, wantDetail: "object"},
		{name: "a single-valued complex attribute given two values", body: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":[{"value":"a"},{"value":"b"}]}]`, wantErr: ErrInvalidValue},
		// required
		{name: "remove userName", body: `[{"op":"remove","path":"userName"}]`, wantErr: ErrInvalidValue, wantDetail: "userName"},
		{name: "replace userName with null", body: `[{"op":"replace","path":"userName","value":null}]`, wantErr: ErrInvalidValue, wantDetail: "userName"},
		// invalidPath / invalidSyntax
		{name: "unknown attribute", body: `[{"op":"replace","path":"nosuch","value":"x"}]`, wantErr: ErrInvalidPath},
		{name: "unknown sub-attribute", body: `[{"op":"replace","path":"name.nosuch","value":"x"}]`, wantErr: ErrInvalidPath},
		{name: "unknown schema", body: `[{"op":"replace","path":"urn:example:nosuch:2.0:User:department","value":"x"}]`, wantErr: ErrInvalidPath},
		{name: "schemas as a path", body: `[{"op":"replace","path":"schemas","value":["x"]}]`, wantErr: ErrInvalidPath},
		{name: "a path that does not parse", body: `[{"op":"replace","path":"emails[type eq","value":"x"}]`, wantErr: ErrInvalidPath},
		{name: "a path that is not a string", body: `[{"op":"replace","path":5,"value":"x"}]`, wantErr: ErrInvalidPath},
		{name: "unknown op", body: `[{"op":"merge","path":"displayName","value":"x"}]`, wantErr: ErrInvalidSyntax},
		{name: "op missing", body: `[{"path":"displayName","value":"x"}]`, wantErr: ErrInvalidSyntax},
		{name: "add without value", body: `[{"op":"add","path":"displayName"}]`, wantErr: ErrInvalidSyntax},
		{name: "an operation that is not an object", body: `["add"]`, wantErr: ErrInvalidSyntax},
		{name: "op named twice", body: `[{"op":"add","OP":"remove","path":"displayName","value":"x"}]`, wantErr: ErrInvalidSyntax, wantDetail: "case-insensitive"},
		{name: "Operations not an array", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":{"op":"add"}}`, wantErr: ErrInvalidSyntax},
		{name: "no Operations", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, wantErr: ErrInvalidSyntax},
		{name: "wrong schemas", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[]}`, wantErr: ErrInvalidSyntax},
		// leniencies that are not errors
		{name: "op names in any case", body: `[{"op":"REPLACE","path":"displayName","value":"B"}]`, want: `{"displayName":"B"}`},
		{name: "member names in any case", body: `{"Schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"Op":"replace","Path":"displayName","Value":"B"}]}`, want: `{"displayName":"B"}`},
		{name: "Entra's string boolean False", body: `[{"op":"Replace","path":"active","value":"False"}]`, want: `{"active":false}`},
		{name: "string boolean false", body: `[{"op":"replace","path":"active","value":"false"}]`, want: `{"active":false}`},
		{name: "a number for a string attribute is a wrong type, not its digits", body: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":42}]`,
			wantErr: "invalidValue", wantDetail: "employeeNumber must be a string, got a number"},
		{name: "a bare string for a complex value is its value sub-attribute", body: `[{"op":"replace","path":"emails[type eq \"work\"]","value":"b@x.org"}]`,
			want: `{"emails":[{"value":"b@x.org","type":"work"},{"value":"babs@jensen.org","type":"home"}]}`},
		{name: "replace id with its own value", body: `[{"op":"replace","path":"id","value":"2819c223-7f76-453a-919d-413861904646"}]`, want: `{}`},
		{name: "empty Operations", body: `[]`, want: `{}`},
		{name: "password is accepted and not kept", body: `[{"op":"replace","path":"password","value":"t1meMa$heen"}]`, want: `{}`},
	})
}

// TestPatchActiveNull: see checkDefaulted. A null or removed "active" would read as true
// and silently re-activate a deactivated user, so it is refused.
func TestPatchActiveNull(t *testing.T) {
	const inactive = `{"userName":"bjensen","active":false}`
	runPatchCases(t, NewUserResourceType(), patchUserID, inactive, []patchCase{
		{name: "replace active with null", body: `[{"op":"replace","path":"active","value":null}]`, wantErr: ErrInvalidValue, wantDetail: "active"},
		{name: "add active null", body: `[{"op":"add","path":"active","value":null}]`, wantErr: ErrInvalidValue, wantDetail: "active"},
		{name: "remove active", body: `[{"op":"remove","path":"active"}]`, wantErr: ErrInvalidValue, wantDetail: "active"},
		{name: "path-less active null", body: `[{"op":"replace","value":{"active":null}}]`, wantErr: ErrInvalidValue, wantDetail: "active"},
		{name: "active null after another change", body: `[{"op":"replace","path":"displayName","value":"B"},{"op":"replace","path":"active","value":null}]`, wantErr: ErrInvalidValue, wantDetail: "Operations[1]"},
		{name: "re-activation says true", body: `[{"op":"replace","value":{"active":true}}]`, want: `{"active":true}`},
	})
}

// TestPatchAtomic: RFC 7644 §3.5.2: "If a single operation encounters an error condition,
// the original SCIM resource MUST be restored, and a failure status SHALL be returned."
// runPatch checks that the stored resource is untouched; ApplyPatch returns nothing of the
// operations that succeeded before the failing one.
func TestPatchAtomic(t *testing.T) {
	rt := NewUserResourceType()
	failing := map[string]string{
		"type error last":      `[{"op":"replace","path":"displayName","value":"After"},{"op":"add","path":"nickName","value":"N"},{"op":"replace","path":"active","value":3}]`,
		"noTarget last":        `[{"op":"remove","path":"emails[type eq \"home\"]"},{"op":"replace","path":"emails[type eq \"home\"].value","value":"x@example.com"}]`,
		"mutability last":      `[{"op":"replace","value":{"title":"New"}},{"op":"replace","path":"id","value":"other"}]`,
		"invalid path last":    `[{"op":"replace","path":"userName","value":"renamed"},{"op":"replace","path":"nosuch","value":"x"}]`,
		"required removed":     `[{"op":"replace","path":"displayName","value":"After"},{"op":"remove","path":"userName"}]`,
		"extension then error": `[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},{"op":"replace","path":"name","value":"x"}]`,
		"primary conflict":     `[{"op":"replace","path":"displayName","value":"After"},{"op":"replace","path":"emails.primary","value":true}]`,
	}
	for name, body := range failing {
		t.Run(name, func(t *testing.T) {
			start := Resource(pDecode(t, patchUserJSON))
			before := pJSON(start)
			got, err := runPatch(t, rt, patchUserID, start, body)
			if err == nil {
				t.Fatalf("PATCH succeeded: %s", pJSON(got))
			}
			if _, ok := AsError(err); !ok {
				t.Fatalf("error %v is not a *scim.Error", err)
			}
			if pJSON(start) != before {
				t.Fatalf("the stored resource changed:\n%s", pJSON(start))
			}
		})
	}
}

// TestPatchOperationsApplyInOrder: RFC 7644 §3.5.2: "Operations are applied sequentially
// in the order they appear in the array. Each operation in the sequence is applied to the
// target resource; the resulting resource becomes the target of the next operation."
func TestPatchOperationsApplyInOrder(t *testing.T) {
	runPatchCases(t, NewUserResourceType(), patchUserID, patchUserJSON, []patchCase{
		{
			name: "add then replace through the value just added",
			body: `[{"op":"add","path":"emails","value":[{"value":"b@x.org","type":"other"}]},{"op":"replace","path":"emails[type eq \"other\"].display","value":"Other"}]`,
			want: `{"emails":[{"value":"bjensen@example.com","type":"work","primary":true},{"value":"babs@jensen.org","type":"home"},{"value":"b@x.org","type":"other","display":"Other"}]}`,
		},
		{
			name: "remove then add",
			body: `[{"op":"remove","path":"displayName"},{"op":"add","path":"displayName","value":"Again"}]`,
			want: `{"displayName":"Again"}`,
		},
		{
			name:    "remove then replace through a filter that no longer matches",
			body:    `[{"op":"remove","path":"emails"},{"op":"replace","path":"emails[type eq \"work\"].value","value":"x@example.com"}]`,
			wantErr: ErrNoTarget, wantDetail: "Operations[1]",
		},
	})
}

// TestNormalizeResourceDuplicateNames: a body naming one attribute twice is ambiguous.
func TestNormalizeResourceDuplicateNames(t *testing.T) {
	rt := NewUserResourceType()
	for name, body := range map[string]string{
		"two cases":           `{"userName":"a","UserName":"b"}`,
		"plain and qualified": `{"userName":"a","urn:ietf:params:scim:schemas:core:2.0:User:userName":"b"}`,
		"extension object and qualified": `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"A"},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"B"}`,
		"in an extension object":  `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"A","Department":"B"}}`,
		"in a complex value":      `{"userName":"a","name":{"givenName":"A","givenname":"B"}}`,
		"in a multi-valued value": `{"userName":"a","emails":[{"value":"a@x.org","Value":"b@x.org"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := NormalizeResource(rt, pDecode(t, body))
			pWantError(t, err, ErrInvalidSyntax, "")
		})
	}
	// Qualified extension keys and the extension's object both land in the extension.
	got, _, err := NormalizeResource(rt, pDecode(t, `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"A"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter":"B","name":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := pJSON(got), pJSON(pDecode(t, `{"userName":"a","`+enterpriseURN+`":{"department":"A","costCenter":"B"}}`)); g != w {
		t.Fatalf("got\n%s\nwant\n%s", g, w)
	}
}
