package compat

import (
	"net/http"
	"strings"
)

// Identity providers, as recognised from a request.
const (
	Okta      = "okta"
	Entra     = "entra"
	JumpCloud = "jumpcloud"
	OneLogin  = "onelogin"
	Google    = "google"
)

// userAgents maps a substring of the User-Agent header (lower case) to the identity
// provider that sends it. Okta's client sends "Okta SCIM Client 1.0.0"; the others name
// themselves in their User-Agent in published traffic.
var userAgents = []struct{ substr, client string }{
	{"okta", Okta},
	{"azure", Entra},
	{"microsoft", Entra},
	{"jumpcloud", JumpCloud},
	{"onelogin", OneLogin},
	{"google", Google},
}

// IdentifyClient names the identity provider that sent r, or "" when it is not
// recognised. Entra ID's flag aadOptscim062020 on the base URL also marks Entra.
func IdentifyClient(r *http.Request) string {
	ua := strings.ToLower(r.Header.Get("User-Agent"))
	for _, c := range userAgents {
		if strings.Contains(ua, c.substr) {
			return c.client
		}
	}
	if _, ok := r.URL.Query()["aadOptscim062020"]; ok {
		return Entra
	}
	return ""
}
