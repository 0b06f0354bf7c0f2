package compat

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
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
// provider that sends it. Okta's client sends "Okta SCIM Client 1.0.0" (its SPEC test
// "OKTA SCIM Integration"); the others name themselves in their User-Agent in published
// traffic.
var userAgents = []struct{ substr, client string }{
	{"okta", Okta},
	{"azure", Entra},
	{"microsoft", Entra},
	{"jumpcloud", JumpCloud},
	{"onelogin", OneLogin},
	{"google", Google},
}

// IdentifyClient names the identity provider that sent r from its User-Agent, else from
// the shape of its URL (QueryClient), or "" when neither says. The body's shape, read
// later, may say more (BodyClient).
func IdentifyClient(r *http.Request) string {
	ua := strings.ToLower(r.Header.Get("User-Agent"))
	for _, c := range userAgents {
		if strings.Contains(ua, c.substr) {
			return c.client
		}
	}
	return QueryClient(r.URL)
}

// QueryClient recognises an identity provider from what only it puts in a URL, as
// published captures and vendor documentation show it; "" when the URL is like any
// client's. JumpCloud, OneLogin and Google Workspace are recognised by their User-Agent
// only: no capture of their requests shows a shape of their own.
//
//   - Entra ID: its flag aadOptscim062020 on the tenant URL, so on every request; a filter
//     on externalId (Okta filters on userName only); excludedAttributes=members on groups,
//     which Entra asks for and Okta never does.
//   - Okta: its paging, which no other client uses: startIndex with count=100 (import,
//     the userName uniqueness check, the group list of Push Groups), and
//     startIndex=1&count=2 without a filter, the connector test's constant.
func QueryClient(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	q := u.Query()
	if _, ok := q["aadOptscim062020"]; ok {
		return Entra
	}
	filter := strings.TrimSpace(q.Get("filter"))
	if hasPrefixFold(filter, "externalId eq ") {
		return Entra
	}
	if strings.EqualFold(q.Get("excludedAttributes"), "members") && strings.Contains(u.Path, "/Groups") {
		return Entra
	}
	start, count := q.Get("startIndex"), q.Get("count")
	switch {
	case start != "" && count == "100":
		return Okta
	case start == "1" && count == "2" && filter == "":
		return Okta
	}
	return ""
}

// BodyClient recognises an identity provider from the shape of a decoded request body,
// as the vendors' documentation prints it; "" when it is like any client's.
//
//   - Entra ID: PATCH operations with capitalised op names ("Add", "Replace", "Remove":
//     its default sync engine); a no-path replace whose value has dotted or URN-qualified
//     attribute names ("name.givenName", with aadOptscim062020); a create carrying "meta"
//     or Microsoft's ADSCIM group schema.
//   - Okta: a create whose externalId is an Okta user id ("00u" and 17 more); a no-path
//     replace of "active" alone (deactivate) or of a group's id and displayName (rename,
//     sent with every push).
func BodyClient(method string, body map[string]any) string {
	switch method {
	case http.MethodPatch:
		ops, _ := body["Operations"].([]any)
		for _, o := range ops {
			op, _ := o.(map[string]any)
			if c := opClient(op); c != "" {
				return c
			}
		}
	case http.MethodPost:
		schemas, _ := body["schemas"].([]any)
		for _, s := range schemas {
			if s, _ := s.(string); strings.HasPrefix(s, "http://schemas.microsoft.com/") {
				return Entra
			}
		}
		if _, ok := body["meta"].(map[string]any); ok {
			return Entra
		}
		if id, _ := body["externalId"].(string); isOktaUserID(id) {
			return Okta
		}
	}
	return ""
}

// opClient recognises one PATCH operation.
func opClient(op map[string]any) string {
	name, _ := op["op"].(string)
	switch name {
	case "Add", "Replace", "Remove":
		return Entra
	case "replace":
	default:
		return ""
	}
	if _, ok := op["path"]; ok {
		return ""
	}
	value, _ := op["value"].(map[string]any)
	for k := range value {
		if strings.Contains(k, ".") || strings.HasPrefix(k, "urn:") {
			return Entra
		}
	}
	switch len(value) {
	case 1:
		if _, ok := value["active"].(bool); ok {
			return Okta
		}
	case 2, 3:
		_, id := value["id"].(string)
		_, name := value["displayName"].(string)
		_, members := value["members"]
		if id && name && (len(value) == 2 || members) {
			return Okta
		}
	}
	return ""
}

// isOktaUserID reports whether id looks like an Okta user id: "00u" and 17 letters or
// digits.
func isOktaUserID(id string) bool {
	if len(id) != 20 || !strings.HasPrefix(id, "00u") {
		return false
	}
	for _, c := range id[3:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// ClientMemory remembers, per credential, the identity provider its requests were last
// recognised as, so that a later request of no telling shape (a GET by id, a PUT) is
// still filed under it. It is bounded: past maxRemembered credentials it starts over, and
// the store's last-used client of each credential fills in again.
type ClientMemory struct {
	mu sync.Mutex
	m  map[string]string
}

// maxRemembered bounds a ClientMemory.
const maxRemembered = 100000

// Remember records that credential's request was recognised as client.
func (c *ClientMemory) Remember(credential, client string) {
	if credential == "" || client == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxRemembered {
		c.m = make(map[string]string)
	}
	c.m[credential] = client
}

// Recall returns the client last remembered for credential, or "".
func (c *ClientMemory) Recall(credential string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[credential]
}
