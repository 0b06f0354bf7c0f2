package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/storetest"
)

// TestStrictBodies: where the docs promise strictness, a body that
// says one thing twice, or a PatchOp without its schemas, is 400 invalidSyntax, not
// guessed at (no identity provider in the reference needs the leniency).
func TestStrictBodies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "strict")
		u := createUser(t, c, userBody("alice", nil))
		uid := u["id"].(string)
		for _, tc := range []struct{ method, path, body string }{
			{http.MethodPost, "/Users", `{"userName":"a","userName":"b"}`},
			{http.MethodPost, "/Users", `{"userName":"a","name":{"givenName":"x","givenName":"y"}}`},
			{http.MethodPut, "/Users/" + uid, `{"userName":"alice","active":true,"active":false}`},
			{http.MethodPost, "/Groups", `{"displayName":"a","displayName":"b"}`},
			{http.MethodPatch, "/Users/" + uid, `{"Operations":[{"op":"replace","path":"title","value":"x"}]}`},
			{http.MethodPatch, "/Users/" + uid, `{"schems":["` + scim.PatchOpSchema + `"],"Operations":[{"op":"replace","path":"title","value":"x"}]}`},
			{http.MethodPatch, "/Users/" + uid, `{"schemas":["` + scim.PatchOpSchema + `"],"Operations":[{"op":"replace","op":"remove","path":"title","value":"x"}]}`},
			{http.MethodPost, "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[],"Operations":[]}`},
			{http.MethodPost, "/Users/.search", `{"schemas":["` + scim.SearchRequestSchema + `"],"count":1,"count":2}`},
		} {
			expectError(t, do(t, c, tc.method, tc.path, tc.body), http.StatusBadRequest, scim.ErrInvalidSyntax)
		}
		if got := mustDo(t, c, http.MethodGet, "/Users/"+uid, nil, http.StatusOK); got["title"] != nil || got["active"] != true {
			t.Fatalf("a refused request changed the user: %v", got)
		}
		if n := userCount(t, c); n != 1 {
			t.Fatalf("%d users, want 1", n)
		}
	})
}
