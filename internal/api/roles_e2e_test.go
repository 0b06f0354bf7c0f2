package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

// roleCase is one tenant's identity provider, its feed and the application's view.
type roleCase struct {
	t      *testing.T
	e      *env
	tenant string
	idp    *scimclient.Client
	feed   *feedReader
}

func newRoleCase(t *testing.T, e *env, name string) *roleCase {
	ctx := context.Background()
	tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	cred, err := e.admin.MintCredential(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &roleCase{t: t, e: e, tenant: tenant.ID, idp: e.scim(cred.Username, cred.Password),
		feed: &feedReader{t: t, c: e.client(e.full.APIKey(t, tenant.ID, "read")), ids: map[string]string{}}}
}

func (c *roleCase) user(name string) string {
	c.t.Helper()
	id := wantStatus(c.t, send(c.t, c.idp, "POST", "/Users", oktaUser(name+"@acme.example", name, "Example")), 201, "create "+name)["id"].(string)
	c.feed.ids[id] = name
	return id
}

func (c *roleCase) group(name, label string, members ...string) string {
	c.t.Helper()
	list := []any{}
	for _, m := range members {
		list = append(list, map[string]any{"value": m})
	}
	id := wantStatus(c.t, send(c.t, c.idp, "POST", "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": list,
	}), 201, "push "+name)["id"].(string)
	c.feed.ids[id] = label
	return id
}

// holds checks that the directory API and the SCIM User agree that the user holds
// exactly these roles, in this order.
func (c *roleCase) holds(step, user string, want ...string) {
	c.t.Helper()
	if want == nil {
		want = []string{}
	}
	u, err := c.e.admin.GetUser(context.Background(), c.tenant, user)
	if err != nil {
		c.t.Fatalf("%s: directory: %v", step, err)
	}
	if !slices.Equal(u.Roles, want) {
		c.t.Errorf("%s: directory roles of %s = %q, want %q", step, c.feed.ids[user], u.Roles, want)
	}
	m := wantStatus(c.t, send(c.t, c.idp, "GET", "/Users/"+user, nil), 200, step)
	got := []string{}
	list, _ := m["roles"].([]any)
	for _, r := range list {
		got = append(got, r.(map[string]any)["value"].(string))
	}
	if !slices.Equal(got, want) {
		c.t.Errorf("%s: SCIM roles of %s = %q, want %q", step, c.feed.ids[user], got, want)
	}
	// The list's rendering (from the stored document) agrees with the GET's.
	lm := wantStatus(c.t, send(c.t, c.idp, "GET", `/Users?filter=id%20eq%20%22`+user+`%22`, nil), 200, step)
	res := lm["Resources"].([]any)[0].(map[string]any)
	if !jsonEqual(res["roles"], m["roles"]) {
		c.t.Errorf("%s: listed roles %v differ from the GET's %v", step, res["roles"], m["roles"])
	}
}

// holders checks the role's holders as the directory lists them (by the id Roles gives).
func (c *roleCase) holders(step, roleID string, want ...string) {
	c.t.Helper()
	var got []string
	for u, err := range c.e.admin.RoleMembers(context.Background(), c.tenant, roleID) {
		if err != nil {
			c.t.Fatalf("%s: role members: %v", step, err)
		}
		got = append(got, c.feed.ids[u.ID])
	}
	if !slices.Equal(got, want) {
		c.t.Errorf("%s: holders of %s = %q, want %q", step, roleID, got, want)
	}
}

// skip reads and drops the next n events of the feed (the setup's).
func (c *roleCase) skip(step string, n int) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	got := 0
	for got < n && time.Now().Before(deadline) {
		got += len(c.feed.read(step))
		if got < n {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if got != n {
		c.t.Fatalf("%s: %d events, want %d", step, got, n)
	}
}

func (c *roleCase) set(step string, cfg sdk.RoleConfig) *sdk.RoleUpdate {
	c.t.Helper()
	u, err := c.e.admin.SetRoleConfig(context.Background(), c.tenant, cfg)
	if err != nil {
		c.t.Fatalf("%s: %v", step, err)
	}
	return u
}

var appRoles = []sdk.RoleDef{{Name: "admin", Description: "Full access"}, {Name: "analyst"}, {Name: "viewer"}}

// TestRoleMapping runs a tenant through every part of role mapping over real HTTP, and
// after each step checks the directory API, the SCIM User and the events against each
// other.
func TestRoleMapping(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()

			// The vendor guide's example, without a configuration: a pushed group is a
			// role; unlinked, its members are left with the empty role.
			c := newRoleCase(t, e, "guide")
			ada, bob := c.user("ada"), c.user("bob")
			c.feed.expect("users", "user.created ada", "user.created bob")
			pushed := c.group("Alloy Admins", "alloy", ada, bob)
			c.feed.expect("push group", "group.created alloy", "group.member_added alloy ada", "group.member_added alloy bob",
				"user.roles_changed ada []->[Alloy Admins]", "user.roles_changed bob []->[Alloy Admins]")
			c.holds("pushed", ada, "Alloy Admins")
			c.holders("pushed", pushed, "ada", "bob")
			wantStatus(t, send(t, c.idp, "DELETE", "/Groups/"+pushed, nil), 204, "unlink")
			c.feed.expect("unlink", "group.deleted alloy", "user.roles_changed ada [Alloy Admins]->[]", "user.roles_changed bob [Alloy Admins]->[]")
			c.holds("unlinked", ada)
			c.holds("unlinked", bob)

			// A configuration: the application's own roles, rules by name, pattern and id.
			c = newRoleCase(t, e, "mapped")
			ann, ben, cat, dan := c.user("ann"), c.user("ben"), c.user("cat"), c.user("dan")
			admins := c.group("Okta-Alloy-Admins", "admins", ann)
			risk := c.group("Risk Team EU", "risk", ann, ben)
			everyone := c.group("Everyone", "everyone", ann, ben, cat)
			sales := c.group("Sales", "sales", dan)
			// 4 users; 4 groups with 7 memberships, each giving its user one more role.
			c.skip("setup", 4+4+7+7)
			c.holds("groups are roles", ann, "Everyone", "Okta-Alloy-Admins", "Risk Team EU")

			multi := sdk.RoleConfig{Mode: "multi", Roles: appRoles, Rules: []sdk.RoleRule{
				{Group: "okta-alloy-admins", Role: "admin"},
				{GroupPattern: "Risk Team *", Role: "analyst"},
				{GroupID: everyone, Role: "viewer"},
			}}
			u := c.set("multi", multi)
			if u.Unchanged || u.Recomputed != 4 || u.Changed != 4 || u.Source != "tenant" {
				t.Errorf("multi: %+v", u)
			}
			c.feed.expect("multi",
				"user.roles_changed ann [Everyone Okta-Alloy-Admins Risk Team EU]->[admin analyst viewer]",
				"user.roles_changed ben [Everyone Risk Team EU]->[analyst viewer]",
				"user.roles_changed cat [Everyone]->[viewer]",
				"user.roles_changed dan [Sales]->[]")
			c.holds("multi", ann, "admin", "analyst", "viewer")
			c.holds("multi", ben, "analyst", "viewer")
			c.holds("multi: unmapped group", dan)
			c.holders("multi", "viewer", "ann", "ben", "cat")
			if again := c.set("same again", multi); !again.Unchanged || again.Changed != 0 {
				t.Errorf("setting the same configuration again: %+v", again)
			}
			c.feed.expect("same again")

			// Unmapped groups are still listed, as such.
			var mapped []string
			for g, err := range e.admin.Groups(ctx, c.tenant) {
				if err != nil {
					t.Fatal(err)
				}
				mapped = append(mapped, g.Name+"="+slices.Concat([]string{""}, g.Roles)[len(g.Roles)])
			}
			if want := []string{"Okta-Alloy-Admins=admin", "Risk Team EU=analyst", "Everyone=viewer", "Sales="}; !slices.Equal(mapped, want) {
				t.Errorf("groups: %q, want %q", mapped, want)
			}

			// Single: the role listed first wins; a default role for users in no mapped group.
			single := multi
			single.Mode, single.DefaultRole = "single", "viewer"
			c.set("single", single)
			c.feed.expect("single",
				"user.roles_changed ann [admin analyst viewer]->[admin]",
				"user.roles_changed ben [analyst viewer]->[analyst]",
				"user.roles_changed dan []->[viewer]")
			c.holds("single", ann, "admin")
			c.holds("single", ben, "analyst")
			c.holds("single: default role", dan, "viewer")
			eve := c.user("eve")
			c.feed.expect("new user gets the default role", "user.created eve", "user.roles_changed eve []->[viewer]")
			c.holds("new user", eve, "viewer")
			var counts []string
			for r, err := range e.admin.Roles(ctx, c.tenant) {
				if err != nil {
					t.Fatal(err)
				}
				counts = append(counts, r.ID+"="+string(rune('0'+r.MemberCount)))
			}
			if want := []string{"admin=1", "analyst=1", "viewer=3"}; !slices.Equal(counts, want) {
				t.Errorf("roles: %q, want %q", counts, want)
			}
			c.holders("single", "viewer", "cat", "dan", "eve")
			// A SCIM filter on roles reads the derived roles (roles.value is caseExact false).
			lm := wantStatus(t, send(t, c.idp, "GET", `/Users?filter=roles.value%20eq%20%22VIEWER%22&attributes=userName`, nil), 200, "filter on roles")
			var names []string
			for _, r := range lm["Resources"].([]any) {
				names = append(names, r.(map[string]any)["userName"].(string))
			}
			if want := []string{"cat@acme.example", "dan@acme.example", "eve@acme.example"}; !slices.Equal(names, want) {
				t.Errorf("roles.value eq \"VIEWER\": %q, want %q", names, want)
			}

			// Membership changes derive roles at once.
			wantStatus(t, send(t, c.idp, "PATCH", "/Groups/"+admins, patch(op("add", "members", []any{map[string]any{"value": ben}}))), 204, "add ben to admins")
			c.feed.expect("membership", "group.member_added admins ben", "user.roles_changed ben [analyst]->[admin]")
			c.holds("membership", ben, "admin")

			// Remapping: only the members of the remapped group are derived again.
			remap := single
			remap.Rules = slices.Clone(single.Rules)
			remap.Rules[1] = sdk.RoleRule{GroupID: sales, Role: "analyst"}
			u = c.set("remap", remap)
			if u.Recomputed != 3 || u.Changed != 1 {
				t.Errorf("remap: derived %d users, changed %d; want 3 (risk's ann and ben, sales's dan) and 1", u.Recomputed, u.Changed)
			}
			c.feed.expect("remap", "user.roles_changed dan [viewer]->[analyst]")
			c.holds("remap", dan, "analyst")

			// A deleted group: its members fall back to what is left, else the default role.
			wantStatus(t, send(t, c.idp, "DELETE", "/Groups/"+admins, nil), 204, "delete admins")
			c.feed.expect("delete group", "group.deleted admins",
				"user.roles_changed ann [admin]->[viewer]", "user.roles_changed ben [admin]->[viewer]")
			c.holds("group deleted", ann, "viewer")
			_ = risk

			// An inactive user holds nothing by default, or the inactive role.
			wantStatus(t, send(t, c.idp, "PATCH", "/Users/"+cat, patch(op("replace", "active", false))), 200, "deactivate cat")
			c.feed.expect("deactivate", "user.deactivated cat", "user.roles_changed cat [viewer]->[]")
			c.holds("inactive", cat)
			inactive := remap
			inactive.InactiveRole = "viewer"
			c.set("inactive role", inactive)
			c.feed.expect("inactive role", "user.roles_changed cat []->[viewer]")
			c.holds("inactive role", cat, "viewer")
			wantStatus(t, send(t, c.idp, "PATCH", "/Users/"+cat, patch(op("replace", "active", true))), 200, "reactivate cat")
			c.feed.expect("reactivate", "user.reactivated cat")
			c.holds("reactivated", cat, "viewer")

			// roles is read-only for the identity provider unless the tenant allows it.
			resp := send(t, c.idp, "PATCH", "/Users/"+cat, patch(op("add", "roles", []any{map[string]any{"value": "admin"}})))
			if m := wantStatus(t, resp, 400, "PATCH roles"); m["scimType"] != "mutability" {
				t.Errorf("PATCH roles while read-only: %v", m)
			}
			put := oktaUser("cat@acme.example", "cat", "Example")
			put["roles"] = []any{map[string]any{"value": "admin"}}
			wantStatus(t, send(t, c.idp, "PUT", "/Users/"+cat, put), 200, "PUT with roles")
			c.holds("roles in a PUT are ignored", cat, "viewer")

			// Entra ID's app-role assignments as a source of roles; /Schemas says roles is
			// writable then, and read-only before.
			rolesMutability := func() string {
				m := wantStatus(t, send(t, c.idp, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", nil), 200, "schema")
				for _, a := range m["attributes"].([]any) {
					if am := a.(map[string]any); am["name"] == "roles" {
						return am["mutability"].(string)
					}
				}
				return ""
			}
			if got := rolesMutability(); got != "readOnly" {
				t.Errorf("roles mutability without assignments: %q", got)
			}
			entra := inactive
			entra.SCIMRoles = true
			c.set("scim roles", entra)
			c.feed.expect("scim roles")
			if got := rolesMutability(); got != "readWrite" {
				t.Errorf("roles mutability with assignments: %q", got)
			}
			entraRole := []any{map[string]any{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "admin"}}
			wantStatus(t, send(t, c.idp, "PATCH", "/Users/"+cat, patch(op("Add", "roles", entraRole))), 200, "Entra adds an app role")
			c.feed.expect("app role", "user.updated cat roles (patch)", "user.roles_changed cat [viewer]->[admin]")
			c.holds("app role", cat, "admin")
			resp = send(t, c.idp, "PATCH", "/Users/"+cat, patch(op("Add", "roles", []any{map[string]any{"value": "owner"}})))
			if m := wantStatus(t, resp, 400, "unknown app role"); m["scimType"] != "invalidValue" {
				t.Errorf("an app role that is no role: %v", m)
			}
			wantStatus(t, send(t, c.idp, "PATCH", "/Users/"+cat, patch(op("Remove", `roles[value eq "admin"]`, nil))), 200, "Entra removes the app role")
			c.feed.expect("app role removed", "user.updated cat roles (patch)", "user.roles_changed cat [admin]->[viewer]")
			c.holds("app role removed", cat, "viewer")

			// Invalid configurations are refused, naming the field; nothing changes.
			bad := remap
			bad.Rules = []sdk.RoleRule{{Group: "x", Role: "owner"}}
			_, err := e.admin.SetRoleConfig(ctx, c.tenant, bad)
			wantProblem(t, err, 400, "config.rules[0].role")
			c.feed.expect("refused")
			c.holds("after a refusal", dan, "analyst")

			// The default configuration applies to every tenant without its own.
			d := newRoleCase(t, e, "inherits")
			zed := d.user("zed")
			d.group("Engineering", "eng", zed)
			d.skip("setup", 4)
			if _, err := e.admin.SetRoleConfig(ctx, "", sdk.RoleConfig{Mode: "single", Roles: appRoles, DefaultRole: "viewer"}); err != nil {
				t.Fatal(err)
			}
			d.feed.expect("default configuration", "user.roles_changed zed [Engineering]->[viewer]")
			d.holds("default configuration", zed, "viewer")
			s, err := e.admin.RoleConfig(ctx, d.tenant)
			if err != nil || s.Source != "default" || s.Config != nil || s.Effective.DefaultRole != "viewer" {
				t.Errorf("inheriting tenant's settings: %+v, %v", s, err)
			}
			c.holds("a tenant with its own configuration keeps it", dan, "analyst")
			if _, err := e.admin.DeleteRoleConfig(ctx, ""); err != nil {
				t.Fatal(err)
			}
			d.feed.expect("default removed", "user.roles_changed zed [viewer]->[Engineering]")
			d.holds("default removed", zed, "Engineering")
		})
	}
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// TestRolesUnderConcurrency changes the memberships of the same users through different
// groups from several clients at once, deactivates and reactivates them, and switches the
// tenant's role configuration meanwhile; afterwards every user's stored roles are what
// its groups give under the final configuration, in the directory and in SCIM alike, and
// no request failed with a server error.
func TestRolesUnderConcurrency(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()
			c := newRoleCase(t, e, "busy")
			const nUsers, nGroups, workers, rounds = 12, 4, 4, 25
			var users, groups []string
			for i := range nUsers {
				users = append(users, c.user(fmt.Sprintf("u%02d", i)))
			}
			for i := range nGroups {
				groups = append(groups, c.group(fmt.Sprintf("Team %d", i), fmt.Sprintf("team%d", i)))
			}
			configs := []sdk.RoleConfig{
				{Mode: "single", Roles: appRoles, DefaultRole: "viewer", Rules: []sdk.RoleRule{{Group: "Team 0", Role: "admin"}, {GroupPattern: "Team *", Role: "analyst"}}},
				{Mode: "multi", Roles: appRoles, Rules: []sdk.RoleRule{{Group: "Team 1", Role: "admin"}, {Group: "Team 2", Role: "viewer"}}},
			}
			var wg sync.WaitGroup
			errs := make(chan string, workers*rounds+rounds)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rnd := rand.New(rand.NewPCG(uint64(w), 7))
					for range rounds {
						u := users[rnd.IntN(nUsers)]
						var resp *scimclient.Response
						var err error
						switch k := rnd.IntN(5); {
						case k < 2:
							resp, err = c.idp.Send(ctx, scimclient.Request{Method: "PATCH", Path: "/Groups/" + groups[rnd.IntN(nGroups)],
								Body: patch(op("add", "members", []any{map[string]any{"value": u}}))})
						case k < 4:
							resp, err = c.idp.Send(ctx, scimclient.Request{Method: "PATCH", Path: "/Groups/" + groups[rnd.IntN(nGroups)],
								Body: patch(op("remove", `members[value eq "`+u+`"]`, nil))})
						default:
							resp, err = c.idp.Send(ctx, scimclient.Request{Method: "PATCH", Path: "/Users/" + u,
								Body: patch(op("replace", "active", rnd.IntN(3) > 0))})
						}
						if err != nil || resp.Status >= 500 {
							errs <- fmt.Sprintf("%v %v", err, resp)
						}
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 6 {
					if _, err := e.admin.SetRoleConfig(ctx, c.tenant, configs[i%2]); err != nil {
						errs <- err.Error()
					}
				}
			}()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}

			// The final configuration is configs[1]: derive every user's roles from its
			// groups as SCIM shows them, and compare.
			final := roles.Config{Mode: roles.ModeMulti, Roles: []roles.Role{{Name: "admin"}, {Name: "analyst"}, {Name: "viewer"}},
				Rules: []roles.Rule{{Group: "Team 1", Role: "admin"}, {Group: "Team 2", Role: "viewer"}}}
			for _, u := range users {
				m := wantStatus(t, send(t, c.idp, "GET", "/Users/"+u, nil), 200, "read "+u)
				var in []roles.Group
				list, _ := m["groups"].([]any)
				for _, g := range list {
					gm := g.(map[string]any)
					in = append(in, roles.Group{ID: gm["value"].(string), DisplayName: gm["display"].(string)})
				}
				active, _ := m["active"].(bool)
				want := final.UserRoles(in, active, nil)
				c.holds("after the storm", u, want...)
			}
			// Setting the final configuration again finds nothing to change.
			if u := c.set("again", configs[1]); !u.Unchanged {
				t.Errorf("final configuration set again: %+v", u)
			}
		})
	}
}
