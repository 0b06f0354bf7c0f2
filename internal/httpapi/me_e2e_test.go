package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// TestMeNotImplemented: a credential authenticates an identity provider, not a user, so
// /Me has nothing to alias and answers 501 (RFC 7644 §3.11: "A service provider that does
// NOT support this feature SHOULD respond with HTTP status code 501 (Not Implemented).")
// with a SCIM error, for every method and sub-path; authentication still comes first.
func TestMeNotImplemented(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		c := newClient(t, srv, "me")
		for _, path := range []string{"/Me", "/Me/", "/Me/groups", "/Me?attributes=userName"} {
			for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				var body any
				if method == http.MethodPost || method == http.MethodPut {
					body = userBody("me", nil)
				}
				if method == http.MethodPatch {
					body = patchBody(patchOp("replace", "displayName", "Me"))
				}
				expectError(t, do(t, c, method, path, body), http.StatusNotImplemented, "")
			}
			expectError(t, send(t, c, scimclient.Request{Method: http.MethodGet, Path: path, NoAuth: true}), http.StatusUnauthorized, "")
		}
		// Nothing was created by the POST and PUT above.
		if n := mustList(t, c, "/Users").Total; n != 0 {
			t.Fatalf("%d users after /Me requests, want 0", n)
		}
	})
}
