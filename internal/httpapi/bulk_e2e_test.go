package httpapi_test

// End-to-end tests of /Bulk (RFC 7644 §3.7) over HTTP on every backend: the RFC's own
// examples, bulkId references in any order, circular references, failOnErrors, the
// limits, per-operation results identical to the single requests, and tenant isolation.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

const (
	bulkRequestURN  = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
	bulkResponseURN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
)

// bulkBody wraps operations in a BulkRequest; failOnErrors 0 leaves it out.
func bulkBody(failOnErrors int, ops ...map[string]any) map[string]any {
	m := map[string]any{"schemas": []string{bulkRequestURN}, "Operations": ops}
	if ops == nil {
		m["Operations"] = []any{}
	}
	if failOnErrors != 0 {
		m["failOnErrors"] = failOnErrors
	}
	return m
}

// bop is one bulk operation; empty bulkId and nil data are left out.
func bop(method, path, bulkID string, data any) map[string]any {
	m := map[string]any{"method": method, "path": path}
	if bulkID != "" {
		m["bulkId"] = bulkID
	}
	if data != nil {
		m["data"] = data
	}
	return m
}

// withVersion sets an operation's version.
func withVersion(op map[string]any, version string) map[string]any {
	op["version"] = version
	return op
}

// mustBulk POSTs a bulk request, asserts a 200 BulkResponse and returns its operations.
func mustBulk(t testing.TB, c *scimclient.Client, body any) []map[string]any {
	t.Helper()
	resp := do(t, c, http.MethodPost, "/Bulk", body)
	expectStatus(t, resp, http.StatusOK)
	m := bodyOf(t, resp)
	if got := stringList(t, m["schemas"]); len(got) != 1 || got[0] != bulkResponseURN {
		t.Fatalf("bulk response schemas = %v, want [%s]", m["schemas"], bulkResponseURN)
	}
	raw, ok := m["Operations"].([]any)
	if !ok {
		t.Fatalf("bulk response has no Operations array: %s", clip(resp.Body))
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		if out[i], ok = r.(map[string]any); !ok {
			t.Fatalf("Operations[%d] is %T", i, r)
		}
	}
	return out
}

// opWant is what one BulkResponse operation must say. location "" means none;
// anyLocation accepts any non-empty one.
type opWant struct {
	method, bulkID string
	status         int
	scimType       string // for an error: "" means none
	location       string
	anyLocation    bool
}

// expectOp asserts one BulkResponse operation (RFC 7644 §3.7.3): method, bulkId, status
// as a JSON string, location, and for an error a "response" holding the RFC 7644 §3.12
// error; a success carries no "response".
func expectOp(t testing.TB, ops []map[string]any, i int, w opWant) map[string]any {
	t.Helper()
	if i >= len(ops) {
		t.Fatalf("Operations[%d] missing: %d operations: %s", i, len(ops), mustJSON(ops))
	}
	op := ops[i]
	where := fmt.Sprintf("Operations[%d] %s", i, mustJSON(op))
	if s, ok := op["status"].(string); !ok || s != strconv.Itoa(w.status) {
		t.Fatalf("%s: status %#v, want the JSON string %q", where, op["status"], strconv.Itoa(w.status))
	}
	if op["method"] != w.method {
		t.Fatalf("%s: method %v, want %s", where, op["method"], w.method)
	}
	if w.bulkID == "" {
		expectAbsent(t, op, "bulkId")
	} else if op["bulkId"] != w.bulkID {
		t.Fatalf("%s: bulkId %v, want %s", where, op["bulkId"], w.bulkID)
	}
	loc, _ := op["location"].(string)
	switch {
	case w.anyLocation && loc == "":
		t.Fatalf("%s: no location", where)
	case !w.anyLocation && loc != w.location:
		t.Fatalf("%s: location %q, want %q", where, loc, w.location)
	}
	if w.status < 400 {
		expectAbsent(t, op, "response")
		return op
	}
	e, ok := op["response"].(map[string]any)
	if !ok {
		t.Fatalf("%s: failed operation has no response object", where)
	}
	if got := stringList(t, e["schemas"]); len(got) != 1 || got[0] != scim.ErrorSchema {
		t.Fatalf("%s: response schemas %v", where, e["schemas"])
	}
	if e["status"] != strconv.Itoa(w.status) {
		t.Fatalf("%s: response status %#v, want %q", where, e["status"], strconv.Itoa(w.status))
	}
	if d, _ := e["detail"].(string); strings.TrimSpace(d) == "" {
		t.Fatalf("%s: response has no detail", where)
	}
	if got, has := e["scimType"]; (w.scimType == "" && has) || (w.scimType != "" && got != w.scimType) {
		t.Fatalf("%s: scimType %v, want %q", where, got, w.scimType)
	}
	return op
}

// expectDetail asserts that a failed operation's error detail contains want.
func expectDetail(t testing.TB, op map[string]any, want string) {
	t.Helper()
	if d, _ := get(op, "response", "detail").(string); !strings.Contains(d, want) {
		t.Fatalf("error detail %q does not contain %q", d, want)
	}
}

// locationID is the id at the end of a location.
func locationID(t testing.TB, op map[string]any) string {
	t.Helper()
	loc, _ := op["location"].(string)
	i := strings.LastIndexByte(loc, '/')
	if i < 0 || i == len(loc)-1 {
		t.Fatalf("location %q names no resource", loc)
	}
	return loc[i+1:]
}

// userCount is the number of users the client's tenant has.
func userCount(t testing.TB, c *scimclient.Client) int {
	t.Helper()
	return mustList(t, c, "/Users?count=0").Total
}

func groupCount(t testing.TB, c *scimclient.Client) int {
	t.Helper()
	return mustList(t, c, "/Groups?count=0").Total
}

// TestBulkRFCExample runs RFC 7644 §3.7.2's example (a user with bulkId "qwerty" and a
// group whose member is "bulkId:qwerty"), in the RFC's order and reversed: the service
// provider resolves the reference whatever the order (§3.7: the client's intent "MUST" be
// preserved when operations are reordered).
func TestBulkRFCExample(t *testing.T) {
	userOp := `{"method":"POST","path":"/Users","bulkId":"qwerty","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Alice"}}`
	groupOp := `{"method":"POST","path":"/Groups","bulkId":"ytrewq","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Tour Guides","members":[{"type":"User","value":"bulkId:qwerty"}]}}`
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		for _, tc := range []struct {
			name             string
			ops              string
			userIdx, groupIx int
		}{
			{"rfc order", userOp + "," + groupOp, 0, 1},
			{"group first", groupOp + "," + userOp, 1, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newClient(t, srv, "bulk-rfc-"+strings.ReplaceAll(tc.name, " ", "-"))
				ops := mustBulk(t, c, `{"schemas":["`+bulkRequestURN+`"],"Operations":[`+tc.ops+`]}`)
				if len(ops) != 2 {
					t.Fatalf("%d operations in the response, want 2", len(ops))
				}
				// Results are listed in the order of the request.
				u := expectOp(t, ops, tc.userIdx, opWant{method: "POST", bulkID: "qwerty", status: 201, anyLocation: true})
				g := expectOp(t, ops, tc.groupIx, opWant{method: "POST", bulkID: "ytrewq", status: 201, anyLocation: true})
				uid, gid := locationID(t, u), locationID(t, g)
				if u["location"] != c.BaseURL+"/Users/"+uid || g["location"] != c.BaseURL+"/Groups/"+gid {
					t.Fatalf("locations %v, %v: want under %s", u["location"], g["location"], c.BaseURL)
				}
				// The same version a GET then reports, as an ETag would be.
				resp := do(t, c, http.MethodGet, "/Groups/"+gid, nil)
				expectStatus(t, resp, http.StatusOK)
				group := bodyOf(t, resp)
				if tag := expectETag(t, resp, group); g["version"] != tag {
					t.Fatalf("bulk version %v, GET ETag %s", g["version"], tag)
				}
				expectField(t, group, "Tour Guides", "displayName")
				// RFC 7644 §3.7.2: "The service provider MUST replace the string
				// "bulkId:qwerty" with the permanent resource id once created."
				expectField(t, group, uid, "members", "0", "value")
				user := mustDo(t, c, http.MethodGet, "/Users/"+uid, nil, http.StatusOK)
				expectField(t, user, "Alice", "userName")
				expectField(t, user, gid, "groups", "0", "value")
			})
		}

		// §3.7.2: "Extensions that include references to other resources MUST be handled
		// in the same way": the enterprise manager is a reference too.
		t.Run("extension reference", func(t *testing.T) {
			c := newClient(t, srv, "bulk-rfc-ext")
			ops := mustBulk(t, c, bulkBody(0,
				bop("POST", "/Users", "emp", map[string]any{
					"schemas":                 []string{scim.UserSchema, scim.EnterpriseUserSchema},
					"userName":                "Employee",
					scim.EnterpriseUserSchema: map[string]any{"manager": map[string]any{"value": "bulkId:boss"}},
				}),
				bop("POST", "/Users", "boss", userBody("Boss", nil)),
			))
			emp := expectOp(t, ops, 0, opWant{method: "POST", bulkID: "emp", status: 201, anyLocation: true})
			boss := expectOp(t, ops, 1, opWant{method: "POST", bulkID: "boss", status: 201, anyLocation: true})
			user := mustDo(t, c, http.MethodGet, "/Users/"+locationID(t, emp), nil, http.StatusOK)
			expectField(t, user, locationID(t, boss), scim.EnterpriseUserSchema, "manager", "value")
		})
	})
}

// TestBulkReferences covers references outside POST data: a path ("/Users/bulkId:x"), a
// PATCH value and a PATCH path filter, and references that cannot be resolved.
func TestBulkReferences(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "bulk-refs")
		ops := mustBulk(t, c, bulkBody(0,
			// Refers to a user created later in the request.
			bop("PATCH", "/Users/bulkId:bob", "", patchBody(patchOp("replace", "displayName", "Robert"))),
			bop("POST", "/Users", "bob", userBody("bob", nil)),
			bop("POST", "/Users", "carol", userBody("carol", nil)),
			bop("POST", "/Groups", "staff", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Staff"}),
			bop("PATCH", "/Groups/bulkId:staff", "", patchBody(patchOp("add", "members", []any{map[string]any{"value": "bulkId:bob"}, map[string]any{"value": "bulkId:carol"}}))),
			bop("PATCH", "/Groups/bulkId:staff", "", patchBody(patchOp("remove", `members[value eq "bulkId:carol"]`))),
			// A bulkId no POST declares.
			bop("PATCH", "/Users/bulkId:nobody", "", patchBody(patchOp("replace", "displayName", "x"))),
			bop("POST", "/Groups", "ghosts", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Ghosts", "members": []any{map[string]any{"value": "bulkId:nobody"}}}),
			// A bulkId whose POST fails (duplicate userName): what refers to it fails too.
			bop("POST", "/Users", "dup", userBody("BOB", nil)),
			bop("PUT", "/Users/bulkId:dup", "", userBody("dup2", nil)),
			bop("POST", "/Groups", "dupes", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "Dupes", "members": []any{map[string]any{"value": "bulkId:dup"}}}),
		))
		if len(ops) != 11 {
			t.Fatalf("%d results, want 11: %s", len(ops), mustJSON(ops))
		}
		bob := expectOp(t, ops, 1, opWant{method: "POST", bulkID: "bob", status: 201, anyLocation: true})
		bobID := locationID(t, bob)
		p := expectOp(t, ops, 0, opWant{method: "PATCH", status: 200, location: c.BaseURL + "/Users/" + bobID})
		carolID := locationID(t, expectOp(t, ops, 2, opWant{method: "POST", bulkID: "carol", status: 201, anyLocation: true}))
		staffID := locationID(t, expectOp(t, ops, 3, opWant{method: "POST", bulkID: "staff", status: 201, anyLocation: true}))
		// A group PATCH answers 204 alone, so it does in a bulk, with its new version.
		add := expectOp(t, ops, 4, opWant{method: "PATCH", status: 204, location: c.BaseURL + "/Groups/" + staffID})
		rm := expectOp(t, ops, 5, opWant{method: "PATCH", status: 204, location: c.BaseURL + "/Groups/" + staffID})
		if add["version"] == nil || add["version"] == rm["version"] {
			t.Fatalf("group PATCH versions %v then %v, want two different ETags", add["version"], rm["version"])
		}
		expectOp(t, ops, 6, opWant{method: "PATCH", status: 400, scimType: scim.ErrInvalidValue})
		expectOp(t, ops, 7, opWant{method: "POST", bulkID: "ghosts", status: 400, scimType: scim.ErrInvalidValue})
		expectOp(t, ops, 8, opWant{method: "POST", bulkID: "dup", status: 409, scimType: scim.ErrUniqueness})
		expectOp(t, ops, 9, opWant{method: "PUT", status: 409})
		expectOp(t, ops, 10, opWant{method: "POST", bulkID: "dupes", status: 409})

		if v, _ := p["version"].(string); v == "" {
			t.Fatalf("user PATCH result has no version: %v", p)
		}
		user := mustDo(t, c, http.MethodGet, "/Users/"+bobID, nil, http.StatusOK)
		expectField(t, user, "Robert", "displayName")
		// carol was added, then removed through the filter naming her by bulkId.
		group := mustDo(t, c, http.MethodGet, "/Groups/"+staffID, nil, http.StatusOK)
		expectField(t, group, []any{map[string]any{"value": bobID, "$ref": c.BaseURL + "/Users/" + bobID, "display": "bob", "type": "User"}}, "members")
		expectAbsent(t, mustDo(t, c, http.MethodGet, "/Users/"+carolID, nil, http.StatusOK), "groups")
		if n := groupCount(t, c); n != 1 {
			t.Fatalf("%d groups, want 1 (Staff)", n)
		}
		if n := userCount(t, c); n != 2 {
			t.Fatalf("%d users, want 2 (bob, carol)", n)
		}
	})
}

// TestBulkCircular runs RFC 7644 §3.7.1's example (two groups, each a member of the
// other) and other cycles: the service provider "MAY stop after a failed attempt and
// instead return HTTP status code 409 (Conflict)"; scimd does, creating nothing of a cycle.
func TestBulkCircular(t *testing.T) {
	rfc := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
		{"method":"POST","path":"/Groups","bulkId":"qwerty","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Group A","members":[{"type":"Group","value":"bulkId:ytrewq"}]}},
		{"method":"POST","path":"/Groups","bulkId":"ytrewq","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Group B","members":[{"type":"Group","value":"bulkId:qwerty"}]}}]}`
	manager := func(ref string) map[string]any {
		return map[string]any{scim.EnterpriseUserSchema: map[string]any{"manager": map[string]any{"value": ref}}}
	}
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		t.Run("rfc example", func(t *testing.T) {
			c := newClient(t, srv, "bulk-circ-rfc")
			ops := mustBulk(t, c, rfc)
			expectDetail(t, expectOp(t, ops, 0, opWant{method: "POST", bulkID: "qwerty", status: 409}), "circular")
			expectDetail(t, expectOp(t, ops, 1, opWant{method: "POST", bulkID: "ytrewq", status: 409}), "circular")
			if n := groupCount(t, c); n != 0 {
				t.Fatalf("%d groups after a circular request, want 0", n)
			}
		})
		t.Run("managers", func(t *testing.T) {
			c := newClient(t, srv, "bulk-circ-mgr")
			ops := mustBulk(t, c, bulkBody(0,
				bop("POST", "/Users", "a", userBody("a", manager("bulkId:b"))),
				bop("POST", "/Users", "b", userBody("b", manager("bulkId:c"))),
				bop("POST", "/Users", "c", userBody("c", manager("bulkId:a"))),
				// Depends on the cycle without being on it.
				bop("POST", "/Users", "d", userBody("d", manager("bulkId:a"))),
				// Refers to itself.
				bop("POST", "/Users", "self", userBody("self", manager("bulkId:self"))),
				// Unrelated: runs.
				bop("POST", "/Users", "e", userBody("e", nil)),
			))
			// Each operation on a cycle is refused as circular; one that only refers to
			// the cycle fails because what it refers to failed.
			for i, id := range map[int]string{0: "a", 1: "b", 2: "c", 4: "self"} {
				expectDetail(t, expectOp(t, ops, i, opWant{method: "POST", bulkID: id, status: 409}), "circular")
			}
			expectDetail(t, expectOp(t, ops, 3, opWant{method: "POST", bulkID: "d", status: 409}), "bulkId:a cannot be resolved")
			expectOp(t, ops, 5, opWant{method: "POST", bulkID: "e", status: 201, anyLocation: true})
			if n := userCount(t, c); n != 1 {
				t.Fatalf("%d users, want 1 (e)", n)
			}
		})
	})
}

// TestBulkFailOnErrors runs RFC 7644 §3.7.3's example (POST, PUT, PATCH and DELETE of
// users with versions): all succeeding; with failOnErrors 1 and a failing POST, where
// processing stops at the first error and only it is reported; and, without failOnErrors,
// with every operation failing, each reported with its own error.
func TestBulkFailOnErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "bulk-foe")
		bob := createUser(t, c, userBody("Bob", nil))
		carol := createUser(t, c, userBody("Carol", map[string]any{"nickName": "C"}))
		eve := createUser(t, c, userBody("Eve", nil))
		bobID, carolID, eveID := idOf(t, bob), idOf(t, carol), idOf(t, eve)
		rfcOps := func(aliceData map[string]any, bobV, carolV, eveV, eveID string) []map[string]any {
			return []map[string]any{
				bop("POST", "/Users", "qwerty", aliceData),
				withVersion(bop("PUT", "/Users/"+bobID, "", userBody("Bob", map[string]any{"id": bobID, "displayName": "Bobby"})), bobV),
				withVersion(bop("PATCH", "/Users/"+carolID, "", patchBody(patchOp("remove", "nickName"), patchOp("add", "userName", "Dave"))), carolV),
				withVersion(bop("DELETE", "/Users/"+eveID, "", nil), eveV),
			}
		}
		stale := `W/"999999"`
		noUserName := map[string]any{"schemas": []string{scim.UserSchema}}

		// failOnErrors 1, the POST fails: nothing after it runs.
		ops := mustBulk(t, c, bulkBody(1, rfcOps(noUserName, versionOf(t, bob), versionOf(t, carol), versionOf(t, eve), eveID)...))
		if len(ops) != 1 {
			t.Fatalf("failOnErrors 1: %d results, want 1 (processing stops at the error): %s", len(ops), mustJSON(ops))
		}
		expectOp(t, ops, 0, opWant{method: "POST", bulkID: "qwerty", status: 400, scimType: scim.ErrInvalidValue})
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+bobID, nil, http.StatusOK), versionOf(t, bob), "meta", "version")
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+eveID, nil, http.StatusOK), "Eve", "userName")

		// Without failOnErrors every operation runs, whatever fails.
		ops = mustBulk(t, c, bulkBody(0, rfcOps(noUserName, stale, stale, stale, "e9025315-6bea-44e1-899c-1e07454e468b")...))
		expectOp(t, ops, 0, opWant{method: "POST", bulkID: "qwerty", status: 400, scimType: scim.ErrInvalidValue})
		expectOp(t, ops, 1, opWant{method: "PUT", status: 412, location: c.BaseURL + "/Users/" + bobID})
		expectOp(t, ops, 2, opWant{method: "PATCH", status: 412, location: c.BaseURL + "/Users/" + carolID})
		expectOp(t, ops, 3, opWant{method: "DELETE", status: 404, location: c.BaseURL + "/Users/e9025315-6bea-44e1-899c-1e07454e468b"})
		if n := userCount(t, c); n != 3 {
			t.Fatalf("%d users, want 3: nothing changed", n)
		}

		// failOnErrors 2: the second error stops processing; the success between them stays.
		ops = mustBulk(t, c, bulkBody(2,
			bop("POST", "/Users", "x1", noUserName),
			bop("POST", "/Users", "x2", userBody("Frank", nil)),
			withVersion(bop("DELETE", "/Users/"+eveID, "", nil), stale),
			bop("POST", "/Users", "x3", userBody("Grace", nil)),
		))
		if len(ops) != 3 {
			t.Fatalf("failOnErrors 2: %d results, want 3: %s", len(ops), mustJSON(ops))
		}
		expectOp(t, ops, 1, opWant{method: "POST", bulkID: "x2", status: 201, anyLocation: true})
		expectOp(t, ops, 2, opWant{method: "DELETE", status: 412, location: c.BaseURL + "/Users/" + eveID})
		if n := userCount(t, c); n != 4 {
			t.Fatalf("%d users, want 4 (Frank added, Grace never processed)", n)
		}

		// All succeeding, with the versions current: each result carries the new version.
		ops = mustBulk(t, c, bulkBody(1, rfcOps(userBody("Alice", nil), versionOf(t, bob), versionOf(t, carol), versionOf(t, eve), eveID)...))
		alice := expectOp(t, ops, 0, opWant{method: "POST", bulkID: "qwerty", status: 201, anyLocation: true})
		put := expectOp(t, ops, 1, opWant{method: "PUT", status: 200, location: c.BaseURL + "/Users/" + bobID})
		patch := expectOp(t, ops, 2, opWant{method: "PATCH", status: 200, location: c.BaseURL + "/Users/" + carolID})
		expectOp(t, ops, 3, opWant{method: "DELETE", status: 204, location: c.BaseURL + "/Users/" + eveID})
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+locationID(t, alice), nil, http.StatusOK), "Alice", "userName")
		b := mustDo(t, c, http.MethodGet, "/Users/"+bobID, nil, http.StatusOK)
		expectField(t, b, "Bobby", "displayName")
		expectField(t, b, put["version"], "meta", "version")
		d := mustDo(t, c, http.MethodGet, "/Users/"+carolID, nil, http.StatusOK)
		expectField(t, d, "Dave", "userName")
		expectAbsent(t, d, "nickName")
		expectField(t, d, patch["version"], "meta", "version")
		expectError(t, do(t, c, http.MethodGet, "/Users/"+eveID, nil), http.StatusNotFound, "")
	})
}

// TestBulkOperationErrors: a malformed operation fails alone, with the error its request
// would get alone; the others still run (RFC 7644 §3.7: "The service provider MUST
// continue performing as many changes as possible and disregard partial failures").
func TestBulkOperationErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "bulk-operr")
		u := createUser(t, c, userBody("existing", nil))
		uid := idOf(t, u)
		cases := []struct {
			op   any
			want opWant
		}{
			{bop("GET", "/Users/"+uid, "", nil), opWant{method: "GET", status: 400, scimType: scim.ErrInvalidValue, location: c.BaseURL + "/Users/" + uid}},
			{map[string]any{"path": "/Users"}, opWant{method: "", status: 400, scimType: scim.ErrInvalidValue}},
			{bop("POST", "/Users", "", userBody("nobulkid", nil)), opWant{method: "POST", status: 400, scimType: scim.ErrInvalidValue}},
			{bop("POST", "", "np", userBody("nopath", nil)), opWant{method: "POST", bulkID: "np", status: 400, scimType: scim.ErrInvalidValue}},
			{bop("POST", "/Users", "nd", nil), opWant{method: "POST", bulkID: "nd", status: 400, scimType: scim.ErrInvalidSyntax}},
			{bop("PUT", "/Users/"+uid, "", "not an object"), opWant{method: "PUT", status: 400, scimType: scim.ErrInvalidSyntax, location: c.BaseURL + "/Users/" + uid}},
			{"not an operation", opWant{method: "", status: 400, scimType: scim.ErrInvalidSyntax}},
			{withVersion(bop("DELETE", "/Users/"+uid, "", nil), "x"), opWant{method: "DELETE", status: 412, location: c.BaseURL + "/Users/" + uid}},
			{map[string]any{"method": "DELETE", "path": "/Users/" + uid, "version": 3}, opWant{method: "DELETE", status: 400, scimType: scim.ErrInvalidValue, location: c.BaseURL + "/Users/" + uid}},
			// Endpoints: bulk writes apply to /Users and /Groups, POST to the collection,
			// the other methods to one resource; anything else is the 404 of the same
			// request sent alone.
			{bop("POST", "/Users/"+uid, "p1", userBody("x", nil)), opWant{method: "POST", bulkID: "p1", status: 404}},
			{bop("PUT", "/Users", "", userBody("x", nil)), opWant{method: "PUT", status: 404}},
			{bop("DELETE", "/Schemas/x", "", nil), opWant{method: "DELETE", status: 404}},
			{bop("POST", "/Bulk", "rec", bulkBody(0)), opWant{method: "POST", bulkID: "rec", status: 404}},
			{bop("POST", "Users", "rel", userBody("x", nil)), opWant{method: "POST", bulkID: "rel", status: 404}},
			{bop("DELETE", "/Users/"+uid+"/x", "", nil), opWant{method: "DELETE", status: 404}},
			{bop("DELETE", "/Users/00000000-0000-0000-0000-000000000000", "", nil), opWant{method: "DELETE", status: 404, location: c.BaseURL + "/Users/00000000-0000-0000-0000-000000000000"}},
			// The handlers' own validation, as for a single request.
			{bop("POST", "/Users", "dupe", userBody("EXISTING", nil)), opWant{method: "POST", bulkID: "dupe", status: 409, scimType: scim.ErrUniqueness}},
			{bop("PATCH", "/Users/"+uid, "", patchBody(patchOp("replace", "nosuch.attr[", "x"))), opWant{method: "PATCH", status: 400, scimType: scim.ErrInvalidPath, location: c.BaseURL + "/Users/" + uid}},
			{bop("POST", "/Groups", "g", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "G", "members": []any{map[string]any{"value": "no-such-user"}}}), opWant{method: "POST", bulkID: "g", status: 400, scimType: scim.ErrInvalidValue}},
			{bop("POST", "/Users", "ok", userBody("fine", nil)), opWant{method: "POST", bulkID: "ok", status: 201, anyLocation: true}},
		}
		body := map[string]any{"schemas": []string{bulkRequestURN}}
		var raw []any
		for _, tc := range cases {
			raw = append(raw, tc.op)
		}
		body["Operations"] = raw
		ops := mustBulk(t, c, body)
		if len(ops) != len(cases) {
			t.Fatalf("%d results for %d operations: %s", len(ops), len(cases), mustJSON(ops))
		}
		for i, tc := range cases {
			expectOp(t, ops, i, tc.want)
		}
		// Only the valid POST created anything; the existing user is untouched.
		if n := userCount(t, c); n != 2 {
			t.Fatalf("%d users, want 2", n)
		}
		expectField(t, mustDo(t, c, http.MethodGet, "/Users/"+uid, nil, http.StatusOK), versionOf(t, u), "meta", "version")
	})
}

// TestBulkRequestErrors: what is wrong with the request as a whole fails it before any
// operation runs.
func TestBulkRequestErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "bulk-reqerr")
		one := []any{bop("POST", "/Users", "a", userBody("a", nil))}
		cases := []struct {
			name     string
			body     any
			status   int
			scimType string
		}{
			{"no schemas", map[string]any{"Operations": one}, 400, scim.ErrInvalidSyntax},
			{"wrong schema", map[string]any{"schemas": []string{scim.PatchOpSchema}, "Operations": one}, 400, scim.ErrInvalidSyntax},
			{"no Operations", map[string]any{"schemas": []string{bulkRequestURN}}, 400, scim.ErrInvalidSyntax},
			{"Operations not a list", map[string]any{"schemas": []string{bulkRequestURN}, "Operations": map[string]any{}}, 400, scim.ErrInvalidSyntax},
			{"failOnErrors 0", map[string]any{"schemas": []string{bulkRequestURN}, "failOnErrors": 0, "Operations": one}, 400, scim.ErrInvalidValue},
			{"failOnErrors string", map[string]any{"schemas": []string{bulkRequestURN}, "failOnErrors": "1", "Operations": one}, 400, scim.ErrInvalidValue},
			{"failOnErrors fraction", map[string]any{"schemas": []string{bulkRequestURN}, "failOnErrors": 1.5, "Operations": one}, 400, scim.ErrInvalidValue},
			{"duplicate bulkId", bulkBody(0, bop("POST", "/Users", "a", userBody("a", nil)), bop("POST", "/Users", "a", userBody("b", nil))), 400, scim.ErrInvalidValue},
			{"not JSON", `{"schemas":`, 400, scim.ErrInvalidSyntax},
			{"not an object", `[]`, 400, scim.ErrInvalidSyntax},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				expectError(t, do(t, c, http.MethodPost, "/Bulk", tc.body), tc.status, tc.scimType)
				if n := userCount(t, c); n != 0 {
					t.Fatalf("%d users after a refused request", n)
				}
			})
		}
		t.Run("media type", func(t *testing.T) {
			resp := doWith(t, c, http.MethodPost, "/Bulk", bulkBody(0, bop("POST", "/Users", "a", userBody("a", nil))), hdr("Content-Type", "text/plain"))
			expectError(t, resp, http.StatusUnsupportedMediaType, "")
		})
		t.Run("attribute names in any case", func(t *testing.T) {
			ops := mustBulk(t, c, map[string]any{"SCHEMAS": []string{bulkRequestURN}, "operations": []any{
				map[string]any{"METHOD": "post", "Path": "/Users", "BULKID": "q", "Data": userBody("anycase", nil)},
			}})
			expectOp(t, ops, 0, opWant{method: "POST", bulkID: "q", status: 201, anyLocation: true})
		})
		t.Run("unauthenticated", func(t *testing.T) {
			resp := send(t, c, scimclient.Request{Method: http.MethodPost, Path: "/Bulk", Body: bulkBody(0, bop("POST", "/Users", "u", userBody("u", nil))), NoAuth: true})
			expectError(t, resp, http.StatusUnauthorized, "")
		})
	})
}

// TestBulkTenantIsolation: a bulk request acts with its credential's tenant only: another
// tenant's resources are 404 to it, whatever the operation, and cannot become members.
func TestBulkTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		a := newClient(t, srv, "bulk-iso-a")
		b := newClient(t, srv, "bulk-iso-b")
		au := createUser(t, a, userBody("alice", nil))
		aid := idOf(t, au)
		ag := mustDo(t, a, http.MethodPost, "/Groups", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "A-team", "members": []any{map[string]any{"value": aid}}}, http.StatusCreated)
		agid := idOf(t, ag)
		au = mustDo(t, a, http.MethodGet, "/Users/"+aid, nil, http.StatusOK) // its groups changed

		ops := mustBulk(t, b, bulkBody(0,
			bop("PUT", "/Users/"+aid, "", userBody("stolen", nil)),
			bop("PATCH", "/Users/"+aid, "", patchBody(patchOp("replace", "active", false))),
			bop("DELETE", "/Users/"+aid, "", nil),
			bop("PATCH", "/Groups/"+agid, "", patchBody(patchOp("remove", "members"))),
			bop("DELETE", "/Groups/"+agid, "", nil),
			bop("POST", "/Groups", "g", map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": "B-team", "members": []any{map[string]any{"value": aid}}}),
			// The same userName as tenant A's user is free in tenant B.
			bop("POST", "/Users", "u", userBody("alice", nil)),
		))
		expectOp(t, ops, 0, opWant{method: "PUT", status: 404, location: b.BaseURL + "/Users/" + aid})
		expectOp(t, ops, 1, opWant{method: "PATCH", status: 404, location: b.BaseURL + "/Users/" + aid})
		expectOp(t, ops, 2, opWant{method: "DELETE", status: 404, location: b.BaseURL + "/Users/" + aid})
		expectOp(t, ops, 3, opWant{method: "PATCH", status: 404, location: b.BaseURL + "/Groups/" + agid})
		expectOp(t, ops, 4, opWant{method: "DELETE", status: 404, location: b.BaseURL + "/Groups/" + agid})
		expectOp(t, ops, 5, opWant{method: "POST", bulkID: "g", status: 400, scimType: scim.ErrInvalidValue})
		expectOp(t, ops, 6, opWant{method: "POST", bulkID: "u", status: 201, anyLocation: true})

		// Tenant A sees its resources as they were.
		expectField(t, mustDo(t, a, http.MethodGet, "/Users/"+aid, nil, http.StatusOK), versionOf(t, au), "meta", "version")
		expectField(t, mustDo(t, a, http.MethodGet, "/Groups/"+agid, nil, http.StatusOK), versionOf(t, ag), "meta", "version")
		if n := userCount(t, a); n != 1 {
			t.Fatalf("tenant A has %d users, want 1", n)
		}
		if n := userCount(t, b); n != 1 {
			t.Fatalf("tenant B has %d users, want 1", n)
		}
	})
}

// TestBulkLimits: maxOperations and maxPayloadSize are advertised and enforced (RFC 7644
// §3.7.4: "If either limit is exceeded, the service provider MUST return HTTP response
// code 413 (Payload Too Large). The returned response MUST specify the limit exceeded in
// the body of the error response."), before any operation runs.
func TestBulkLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "bulk-limits-default")
		spc := mustDo(t, c, http.MethodGet, "/ServiceProviderConfig", nil, http.StatusOK)
		expectField(t, spc, map[string]any{"supported": true, "maxOperations": 1000, "maxPayloadSize": 1 << 20}, "bulk")
	})
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name+"/configured", func(t *testing.T) {
			st := be.Open(t)
			ts := httptest.NewServer(httpapi.New(st, httpapi.Options{MaxBulkOperations: 3, MaxBulkPayloadBytes: 2048}))
			t.Cleanup(ts.Close)
			srv := &storetest.Server{Store: st, URL: ts.URL + httpapi.Prefix}
			c := newClient(t, srv, "bulk-limits")
			spc := mustDo(t, c, http.MethodGet, "/ServiceProviderConfig", nil, http.StatusOK)
			expectField(t, spc, map[string]any{"supported": true, "maxOperations": 3, "maxPayloadSize": 2048}, "bulk")

			users := func(n int, pad int) []map[string]any {
				var ops []map[string]any
				for i := range n {
					ops = append(ops, bop("POST", "/Users", fmt.Sprintf("u%d", i), userBody(fmt.Sprintf("u%d", i), map[string]any{"displayName": strings.Repeat("x", pad)})))
				}
				return ops
			}
			e := expectError(t, do(t, c, http.MethodPost, "/Bulk", bulkBody(0, users(4, 0)...)), http.StatusRequestEntityTooLarge, "")
			if d := e["detail"].(string); !strings.Contains(d, "maxOperations (3)") {
				t.Fatalf("413 detail %q does not name the maxOperations limit", d)
			}
			// The RFC's own wording of the payload error.
			e = expectError(t, do(t, c, http.MethodPost, "/Bulk", bulkBody(0, users(2, 1200)...)), http.StatusRequestEntityTooLarge, "")
			expectField(t, e, "The size of the bulk operation exceeds the maxPayloadSize (2048).", "detail")
			if n := userCount(t, c); n != 0 {
				t.Fatalf("%d users after refused requests", n)
			}
			// At the limits, the request runs.
			ops := mustBulk(t, c, bulkBody(0, users(3, 300)...))
			for i := range 3 {
				expectOp(t, ops, i, opWant{method: "POST", bulkID: fmt.Sprintf("u%d", i), status: 201, anyLocation: true})
			}
		})
	}
}
