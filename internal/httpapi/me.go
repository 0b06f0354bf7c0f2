package httpapi

import (
	"net/http"

	"github.com/scimd/scimd/internal/scim"
)

// me answers every request to /Me. RFC 7644 §3.11: "A service provider that does NOT
// support this feature SHOULD respond with HTTP status code 501 (Not Implemented)." /Me
// aliases the resource of the authenticated subject, and a scimd credential authenticates
// an identity provider (a tenant), never one of the tenant's users: there is nothing for
// /Me to stand for.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return scim.Status(http.StatusNotImplemented,
		"/Me is not supported: credentials identify an identity provider (a tenant), not a user, so there is no authenticated user for /Me to alias")
}
