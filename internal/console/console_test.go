package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/console"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

type browserless struct {
	t    *testing.T
	root string
	c    *http.Client
}

func newClient(t *testing.T, root string) *browserless {
	jar, _ := cookiejar.New(nil)
	return &browserless{t: t, root: root, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browserless) do(method, path string, form url.Values, header http.Header) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.root+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestConsoleSignInAndCSRF, on both stores: the console is off unless configured; only
// the password or an admin API key for every tenant signs in (a SCIM credential and a
// tenant's key do not); the session cookie is HttpOnly, SameSite=Strict and not
// forgeable; a post without the session's CSRF token, or a sign-in from another origin,
// is refused.
func TestConsoleSignInAndCSRF(t *testing.T) {
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			off := storetest.StartFull(t, be.Open(t), server.Options{})
			if resp, _ := newClient(t, off.Root).do("GET", "/admin/", nil, nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("console without configuration: %d, want 404", resp.StatusCode)
			}

			full := storetest.StartFull(t, be.Open(t), server.Options{Console: console.Options{Password: consolePassword, APIKeyLogin: true}})
			tn := full.NewTenant(t, "acme")
			b := newClient(t, full.Root)
			resp, _ := b.do("GET", "/admin/tenants/"+tn.ID+"/users", nil, nil)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login?next=") {
				t.Fatalf("signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			for _, secret := range []string{"", "wrong", tn.Issued.Bearer, tn.Issued.Password, full.APIKey(t, tn.ID, "admin"), full.APIKey(t, "", "read")} {
				if resp, body := b.do("POST", "/admin/login", url.Values{"secret": {secret}}, nil); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not the console password") {
					t.Fatalf("sign in with %q: %d", secret, resp.StatusCode)
				}
			}
			if resp, _ := b.do("POST", "/admin/login", url.Values{"secret": {consolePassword}}, http.Header{"Origin": {"https://evil.example"}}); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("sign in from another origin: %d", resp.StatusCode)
			}
			resp, _ = b.do("POST", "/admin/login", url.Values{"secret": {consolePassword}, "next": {"https://evil.example/"}}, nil)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/" {
				t.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			cookie := resp.Cookies()[0]
			if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/admin/" {
				t.Fatalf("session cookie %+v", cookie)
			}
			resp, page := b.do("GET", "/admin/tenants/"+tn.ID+"/credentials", nil, nil)
			if resp.StatusCode != 200 || !strings.Contains(page, tn.Issued.Credential.ID) || resp.Header.Get("Content-Security-Policy") == "" {
				t.Fatalf("credentials page: %d", resp.StatusCode)
			}
			m := csrfField.FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no CSRF token in the page")
			}
			revoke := "/admin/tenants/" + tn.ID + "/credentials/" + tn.Issued.Credential.ID + "/revoke"
			for _, token := range []string{"", "forged", m[1] + "x"} {
				if resp, _ := b.do("POST", revoke, url.Values{"csrf": {token}}, nil); resp.StatusCode != http.StatusForbidden {
					t.Fatalf("revoke with CSRF token %q: %d", token, resp.StatusCode)
				}
			}
			if resp, _ := b.do("POST", revoke, url.Values{"csrf": {m[1]}}, nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			if r, err := tn.Client.Do(t.Context(), "GET", "/Users", nil); err != nil || r.Status != 401 {
				t.Fatalf("SCIM after revoking: %v %v", r, err)
			}
			resp, page = b.do("POST", "/admin/tenants/"+tn.ID+"/credentials", url.Values{"csrf": {m[1]}}, nil)
			if resp.StatusCode != 200 || !strings.Contains(page, "shown once") || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("mint: %d", resp.StatusCode)
			}

			// A forged or altered cookie is no session.
			forged := newClient(t, full.Root)
			u, _ := url.Parse(full.Root + "/admin/")
			parts := strings.Split(cookie.Value, ".")
			for _, v := range []string{"9999999999." + parts[1] + "." + parts[2], parts[0] + ".x." + parts[2], "garbage"} {
				forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookie.Name, Value: v, Path: "/admin/"}})
				if resp, _ := forged.do("GET", "/admin/", nil, nil); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("forged cookie %q: %d", v, resp.StatusCode)
				}
			}
			// An admin API key for every tenant signs in too.
			k := newClient(t, full.Root)
			if resp, _ := k.do("POST", "/admin/login", url.Values{"secret": {full.APIKey(t, "", "admin")}}, nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign in with an admin key: %d", resp.StatusCode)
			}
			if resp, page := k.do("GET", "/admin/", nil, nil); resp.StatusCode != 200 || !strings.Contains(page, "acme") {
				t.Fatalf("tenants page: %d", resp.StatusCode)
			}
			if resp, _ := k.do("GET", "/admin/tenants/nope/users", nil, nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("unknown tenant: %d", resp.StatusCode)
			}
		})
	}
}

// TestConsoleRolesPage, on both stores: a tenant's roles page shows the role
// configuration it works under, its roles with their holders, and its groups with the
// roles each gives (unmapped ones as such); a role's page lists its holders.
func TestConsoleRolesPage(t *testing.T) {
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			full := storetest.StartFull(t, be.Open(t), server.Options{Console: console.Options{Password: consolePassword}})
			tn := full.NewTenant(t, "acme")
			post := func(path string, body map[string]any) string {
				r, err := tn.Client.Do(t.Context(), "POST", path, body)
				if err != nil || r.Status != 201 {
					t.Fatalf("POST %s: %v %v", path, r, err)
				}
				m, err := r.JSON()
				if err != nil {
					t.Fatal(err)
				}
				return m["id"].(string)
			}
			ada := post("/Users", map[string]any{"userName": "ada@acme.example"})
			post("/Users", map[string]any{"userName": "bob@acme.example"})
			post("/Groups", map[string]any{"displayName": "Okta-Alloy-Admins", "members": []any{map[string]any{"value": ada}}})
			post("/Groups", map[string]any{"displayName": "Sales", "members": []any{}})
			b := newClient(t, full.Root)
			if resp, _ := b.do("POST", "/admin/login", url.Values{"secret": {consolePassword}}, nil); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign in: %d", resp.StatusCode)
			}
			resp, page := b.do("GET", "/admin/tenants/"+tn.ID+"/roles", nil, nil)
			if resp.StatusCode != 200 || !strings.Contains(page, "is a role of its own name") || !strings.Contains(page, ">Okta-Alloy-Admins</a>") {
				t.Fatalf("roles page without a configuration: %d\n%s", resp.StatusCode, page)
			}

			api := sdk.New(full.Root, full.APIKey(t, "", "admin"))
			if _, err := api.SetRoleConfig(t.Context(), tn.ID, sdk.RoleConfig{Mode: "single", DefaultRole: "viewer",
				Roles: []sdk.RoleDef{{Name: "admin", Description: "Full access"}, {Name: "viewer"}},
				Rules: []sdk.RoleRule{{Group: "Okta-Alloy-Admins", Role: "admin"}}}); err != nil {
				t.Fatal(err)
			}
			resp, page = b.do("GET", "/admin/tenants/"+tn.ID+"/roles", nil, nil)
			for _, want := range []string{"Mode <strong>single</strong>", "named “Okta-Alloy-Admins”", "hold <strong>viewer</strong>",
				`/roles/admin">admin</a></th>
  <td>1</td>`, `/roles/viewer">viewer</a></th>
  <td>1</td>`, "Full access", "<th scope=\"row\">Sales</th>\n  <td>0</td>\n  <td><em>unmapped</em></td>", "Source: tenant"} {
				if resp.StatusCode != 200 || !strings.Contains(page, want) {
					t.Fatalf("roles page under a configuration: %d, no %q in\n%s", resp.StatusCode, want, page)
				}
			}
			resp, page = b.do("GET", "/admin/tenants/"+tn.ID+"/roles/admin", nil, nil)
			if resp.StatusCode != 200 || !strings.Contains(page, "ada@acme.example") || strings.Contains(page, "bob@acme.example") {
				t.Fatalf("admin's page: %d\n%s", resp.StatusCode, page)
			}

			// The configuration is edited on the page: refused with a reason, saved, removed.
			_, page = b.do("GET", "/admin/tenants/"+tn.ID+"/roles", nil, nil)
			m := csrfField.FindStringSubmatch(page)
			if m == nil || !strings.Contains(page, `&#34;default_role&#34;: &#34;viewer&#34;`) {
				t.Fatalf("no form with the configuration:\n%s", page)
			}
			postForm := func(form url.Values) (*http.Response, string) {
				form.Set("csrf", m[1])
				return b.do("POST", "/admin/tenants/"+tn.ID+"/role-config", form, nil)
			}
			if resp, page := postForm(url.Values{"config": {`{"mode": "single", "roles": [{"name": "admin"}], "rules": [{"group": "Sales", "role": "owner"}]}`}}); resp.StatusCode != 400 || !strings.Contains(page, "rules[0].role") {
				t.Fatalf("a rule naming no role: %d\n%s", resp.StatusCode, page)
			}
			if resp, page := postForm(url.Values{"config": {`{"mode": "single", "rulez": []}`}}); resp.StatusCode != 400 || !strings.Contains(page, "rulez") {
				t.Fatalf("an unknown field: %d\n%s", resp.StatusCode, page)
			}
			resp, _ = postForm(url.Values{"config": {`{"mode": "multi", "roles": [{"name": "admin"}, {"name": "seller"}], "rules": [{"group": "Okta-Alloy-Admins", "role": "admin"}, {"group_pattern": "Sal*", "role": "seller"}]}`}})
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("save: %d", resp.StatusCode)
			}
			_, page = b.do("GET", resp.Header.Get("Location"), nil, nil)
			if !strings.Contains(page, "Saved: roles derived again for 2 users, 1 changed.") || !strings.Contains(page, "<td>seller</td>") {
				t.Fatalf("after saving:\n%s", page)
			}
			if u, err := api.GetUser(t.Context(), tn.ID, ada); err != nil || len(u.Roles) != 1 || u.Roles[0] != "admin" {
				t.Fatalf("ada after saving: %+v %v", u, err)
			}
			if resp, _ = postForm(url.Values{"clear": {"1"}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("remove: %d", resp.StatusCode)
			}
			if u, err := api.GetUser(t.Context(), tn.ID, ada); err != nil || len(u.Roles) != 1 || u.Roles[0] != "Okta-Alloy-Admins" {
				t.Fatalf("ada after removing the configuration: %+v %v", u, err)
			}
		})
	}
}
