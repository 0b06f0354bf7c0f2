package compat

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestIdentifyClient: requests as the identity providers' documentation and published
// captures show them, without a User-Agent unless it is the point, are recognised from
// their User-Agent and their URL; requests any client sends are not.
func TestIdentifyClient(t *testing.T) {
	for _, tc := range []struct {
		name, ua, target, want string
	}{
		{"Okta's User-Agent", "Okta SCIM Client 1.0.0", "/scim/v2/Users/abc", Okta},
		{"Okta's SPEC test harness", "OKTA SCIM Integration", "/scim/v2/Users/abc", Okta},
		{"an Entra User-Agent", "Microsoft Azure Provisioning", "/scim/v2/Users/abc", Entra},
		{"JumpCloud's User-Agent", "JumpCloud SCIM", "/scim/v2/Users", JumpCloud},
		{"OneLogin's User-Agent", "OneLogin SCIM", "/scim/v2/Users", OneLogin},
		{"Google's User-Agent", "Google-Workspace-Provisioning", "/scim/v2/Users", Google},
		{"the User-Agent wins over the URL", "Okta SCIM Client 1.0.0", "/scim/v2/Users?aadOptscim062020&filter=externalId%20eq%20%22x%22", Okta},

		// Okta: the connector test, import, the uniqueness check, Push Groups.
		{"Okta's connector test", "", "/scim/v2/Users?startIndex=1&count=2", Okta},
		{"Okta's import, first page", "", "/scim/v2/Users?startIndex=1&count=100", Okta},
		{"Okta's import, next page", "", "/scim/v2/Users?startIndex=101&count=100", Okta},
		{"Okta's group list", "", "/scim/v2/Groups?startIndex=1&count=100", Okta},
		{"Okta's uniqueness check", "", "/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100", Okta},
		{"Okta's group check", "", "/scim/v2/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100", Okta},
		{"a generic User-Agent with Okta's shape", "Java/1.8.0_412", "/scim/v2/Users?startIndex=1&count=100", Okta},

		// Entra ID: the flag, its matching filters, groups without members.
		{"Entra's flag on the base URL", "", "/scim/v2/Users?aadOptscim062020", Entra},
		{"Entra's flag with a filter", "", "/scim/v2/Users?aadOptscim062020&filter=userName+eq+%22Test_User%22", Entra},
		{"Entra matching on externalId", "", "/scim/v2/Users?filter=externalId+eq+jyoung", Entra},
		{"Entra's group match", "", "/scim/v2/Groups?excludedAttributes=members&filter=displayName+eq+%22displayName%22", Entra},
		{"Entra's group read", "", "/scim/v2/Groups/abc?excludedAttributes=members", Entra},

		// Any client's.
		{"a read by id", "", "/scim/v2/Users/abc", ""},
		{"a userName filter alone (Entra's test connection, and anyone's)", "", "/scim/v2/Users?filter=userName+eq+%22a5b1%22", ""},
		{"a page of another size", "", "/scim/v2/Users?startIndex=1&count=50", ""},
		{"count=2 with a filter", "", "/scim/v2/Users?filter=userName+eq+%22a%22&startIndex=1&count=2", ""},
		{"discovery", "", "/scim/v2/ServiceProviderConfig", ""},
		{"a generic User-Agent", "python-requests/2.32", "/scim/v2/Users", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.target, nil)
			if tc.ua != "" {
				r.Header.Set("User-Agent", tc.ua)
			}
			if got := IdentifyClient(r); got != tc.want {
				t.Fatalf("IdentifyClient(%s, User-Agent %q) = %q, want %q", tc.target, tc.ua, got, tc.want)
			}
		})
	}
}

// TestBodyClient: bodies as the vendors print them are recognised; bodies any client
// sends are not.
func TestBodyClient(t *testing.T) {
	for _, tc := range []struct {
		name, method, body, want string
	}{
		// Entra ID, default sync engine: capitalised ops.
		{"Entra's update", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}]}`, Entra},
		{"Entra's disable", "PATCH", `{"Operations":[{"op":"Replace","path":"active","value":"False"}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, Entra},
		{"Entra's add", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"nickName","value":"Babs"}]}`, Entra},
		{"Entra's member removal", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"value":"u1091"}]}]}`, Entra},
		// Entra ID with aadOptscim062020: lower-case ops, a no-path replace of dotted and
		// URN-qualified names.
		{"Entra's flag: replace many", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"x@y.com"},{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]}`, Entra},
		{"Entra's create", "POST", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_00aa","active":true,"emails":[{"primary":true,"type":"work","value":"Test_User_11bb@testuser.com"}],"meta":{"resourceType":"User"},"name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},"roles":[]}`, Entra},
		{"Entra's group create", "POST", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName"}`, Entra},

		// Okta.
		{"Okta's create", "POST", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"test.user@okta.local","name":{"givenName":"Test","familyName":"User"},"emails":[{"primary":true,"value":"test.user@okta.local","type":"work"}],"displayName":"Test User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}`, Okta},
		{"Okta's deactivate", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`, Okta},
		{"Okta's group rename", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"abf4dd94-a4c0-4f67-89c9-76b03340cb9b","displayName":"Test SCIMv2"}}]}`, Okta},
		{"Okta's empty push", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"members":[],"id":"abf4dd94","displayName":"Test SCIMv2"}}]}`, Okta},

		// Any client's (the RFC's forms; Okta and Entra's flag send these too).
		{"a member add", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"23a35c27"}]}]}`, ""},
		{"a member removal by filter", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"89bb1940\"]"}]}`, ""},
		{"a replace with a path", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`, ""},
		{"a no-path replace of several attributes", "PATCH", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false,"title":"x"}}]}`, ""},
		{"Okta's SPEC test create", "POST", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@b.c","name":{"givenName":"A","familyName":"B"},"emails":[{"primary":true,"value":"a@b.c","type":"work"}],"active":true}`, ""},
		{"an externalId like Okta's but longer", "POST", `{"userName":"a","externalId":"00ujl29u0le5T6Aj10h7x"}`, ""},
		{"a group create", "POST", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}`, ""},
		{"a PUT", "PUT", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a","meta":{"resourceType":"User"}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]any
			if err := json.NewDecoder(strings.NewReader(tc.body)).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if got := BodyClient(tc.method, body); got != tc.want {
				t.Fatalf("BodyClient(%s %s) = %q, want %q", tc.method, tc.body, got, tc.want)
			}
		})
	}
}

func TestClientMemory(t *testing.T) {
	var m ClientMemory
	if got := m.Recall("c1"); got != "" {
		t.Fatalf("empty memory: %q", got)
	}
	m.Remember("c1", Okta)
	m.Remember("c2", Entra)
	m.Remember("c1", "")
	if m.Recall("c1") != Okta || m.Recall("c2") != Entra {
		t.Fatalf("recall: %q %q", m.Recall("c1"), m.Recall("c2"))
	}
	for i := range maxRemembered {
		m.Remember(strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune(i)), Google)
	}
	if len(m.m) > maxRemembered {
		t.Fatalf("%d credentials remembered, bound %d", len(m.m), maxRemembered)
	}
}
