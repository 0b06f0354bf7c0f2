package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/storetest"
)

// TestRoleCommands: a role file applied twice changes roles once; set, show, clear and
// list; a bad file or an unknown tenant changes nothing and says why.
func TestRoleCommands(t *testing.T) {
	db := tempDB(t)
	st := openTestStore(t, db)
	srv := storetest.StartServer(t, st)
	acme := srv.NewTenant(t, "acme")
	srv.NewTenant(t, "globex")
	id := func(m map[string]any) string { return m["id"].(string) }
	ada := id(call(t, acme.Client, "POST", "/Users", map[string]any{"userName": "ada"}, http.StatusCreated))
	bob := id(call(t, acme.Client, "POST", "/Users", map[string]any{"userName": "bob"}, http.StatusCreated))
	call(t, acme.Client, "POST", "/Groups", map[string]any{"displayName": "Okta-Alloy-Admins", "members": []any{map[string]any{"value": ada}}}, http.StatusCreated)
	call(t, acme.Client, "POST", "/Groups", map[string]any{"displayName": "Risk Team EU", "members": []any{map[string]any{"value": bob}}}, http.StatusCreated)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := write("roles.json", `{
	  "default": {"mode": "single", "roles": [{"name": "admin"}, {"name": "analyst"}, {"name": "viewer"}], "default_role": "viewer"},
	  "tenants": {"acme": {"mode": "multi", "rules": [{"group": "okta-alloy-admins", "role": "admin"}, {"group_pattern": "Risk *", "role": "analyst"}]}}
	}`)
	// The default comes first: acme, without its own configuration until the next step,
	// works under it for a moment (2 users), as globex keeps doing (0 users).
	out := ok(t, db, "role", "apply", file)
	if want := "default: set (default); roles derived again for 2 users, 2 changed\nacme: set (tenant); roles derived again for 2 users, 2 changed\n"; out != want {
		t.Fatalf("role apply:\n%s\nwant\n%s", out, want)
	}
	if out := ok(t, db, "role", "apply", file); out != "default: unchanged\nacme: unchanged\n" {
		t.Fatalf("role apply again:\n%s", out)
	}
	var users []userRow
	okJSON(t, db, &users, "user", "list", "--tenant", "acme", "--json")
	if want := []userRow{{ada, "ada", true, []string{"admin"}}, {bob, "bob", true, []string{"analyst"}}}; !reflect.DeepEqual(users, want) {
		t.Fatalf("user list: %+v, want %+v", users, want)
	}
	out = ok(t, db, "role", "list", "--tenant", "acme")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 4 || !reflect.DeepEqual(strings.Fields(lines[1])[:2], []string{"admin", "1"}) ||
		!reflect.DeepEqual(strings.Fields(lines[3])[:2], []string{"viewer", "0"}) {
		t.Fatalf("role list:\n%s", out)
	}
	var s service.RoleSettings
	okJSON(t, db, &s, "role", "show", "--tenant", "acme", "--json")
	if s.Source != service.RoleSourceTenant || s.Effective.Mode != "multi" || len(s.Effective.Roles) != 3 {
		t.Fatalf("role show: %+v", s)
	}
	okJSON(t, db, &s, "role", "show", "--tenant", "globex", "--json")
	if s.Source != service.RoleSourceDefault || s.Config != nil || s.Effective.DefaultRole != "viewer" {
		t.Fatalf("role show of a tenant without its own: %+v", s)
	}

	// Refusals change nothing.
	bad := write("bad.json", `{"mode": "single", "rules": [{"group": "x", "role": "owner"}]}`)
	fails(t, runMain(t, db, nil, "role", "set", "--tenant", "acme", bad), "rules[0].role", "a rule naming no role")
	fails(t, runMain(t, db, nil, "role", "set", "--tenant", "acme", write("typo.json", `{"mode": "single", "rulez": []}`)), "rulez", "an unknown field")
	fails(t, runMain(t, db, nil, "role", "apply", write("unknown.json", `{"tenants": {"acme": null, "initech": null}}`)), "initech", "an unknown tenant")
	okJSON(t, db, &users, "user", "list", "--tenant", "acme", "--json")
	if users[0].Roles[0] != "admin" {
		t.Fatalf("after refusals: %+v", users)
	}

	// Clearing the tenant's configuration falls back to the default's.
	if out := ok(t, db, "role", "clear", "--tenant", "acme"); !strings.HasPrefix(out, "acme: set (default); roles derived again for 2 users, 2 changed") {
		t.Fatalf("role clear: %q", out)
	}
	okJSON(t, db, &users, "user", "list", "--tenant", "acme", "--json")
	if want := []userRow{{ada, "ada", true, []string{"viewer"}}, {bob, "bob", true, []string{"viewer"}}}; !reflect.DeepEqual(users, want) {
		t.Fatalf("user list after clear: %+v, want %+v", users, want)
	}
}
