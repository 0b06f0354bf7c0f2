package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

func patch(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

func op(o, path string, value any) map[string]any {
	m := map[string]any{"op": o, "value": value}
	if path != "" {
		m["path"] = path
	}
	return m
}

// feedReader reads a tenant's feed with the tenant's own key, step by step.
type feedReader struct {
	t      *testing.T
	c      *sdk.Client
	cursor string
	ids    map[string]string // resource id -> name in the expectations
}

// expect reads what the feed holds now and compares it with want: one "type name" per
// event, name being the expectations' name of the resource (then the user of a member
// event, the roles of a roles change, the changed attributes and "(put)" or "(patch)" of
// an update).
func (f *feedReader) expect(step string, want ...string) {
	f.t.Helper()
	// Events are numbered, hence readable, a moment after their change commits: wait
	// for as many as expected (or, when none is, a moment for a wrong one to show).
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	if len(want) == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	for {
		more := f.read(step)
		got = append(got, more...)
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !slices.Equal(got, want) {
		f.t.Errorf("%s: events\n got  %q\n want %q", step, got, want)
	}
}

// read reads what the feed holds now after the cursor, and moves the cursor on.
func (f *feedReader) read(step string) []string {
	f.t.Helper()
	var got []string
	for {
		p, err := f.c.ListEvents(context.Background(), sdk.EventOptions{After: f.cursor, Limit: 3})
		if err != nil {
			f.t.Fatalf("%s: read feed: %v", step, err)
		}
		for _, e := range p.Data {
			s := e.Type + " " + f.ids[fmt.Sprint(e.Data.Resource["id"])]
			if e.Data.User != nil {
				s += " " + f.ids[e.Data.User.ID]
			}
			if e.Type == "user.roles_changed" {
				s += fmt.Sprintf(" %v->%v", e.Data.RolesBefore, e.Data.RolesAfter)
			}
			if len(e.Data.Changed) > 0 {
				s += " " + strings.Join(e.Data.Changed, ",")
			}
			if e.Data.Op != "" {
				s += " (" + e.Data.Op + ")"
			}
			got = append(got, s)
		}
		if p.Next == f.cursor {
			return got
		}
		f.cursor = p.Next
	}
}

// TestEventFeedIdPFlows runs the requests Okta and Microsoft Entra ID send over SCIM and
// checks, after each step, that the feed holds exactly the expected events in order.
func TestEventFeedIdPFlows(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()
			for _, flow := range []string{"okta", "entra"} {
				t.Run(flow, func(t *testing.T) {
					tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: flow})
					if err != nil {
						t.Fatal(err)
					}
					cred, err := e.admin.MintCredential(ctx, tenant.ID)
					if err != nil {
						t.Fatal(err)
					}
					idp := e.scim(cred.Username, cred.Password)
					f := &feedReader{t: t, c: e.client(e.full.APIKey(t, tenant.ID, "read")), ids: map[string]string{}}
					if flow == "okta" {
						oktaFlow(t, idp, f)
					} else {
						entraFlow(t, idp, f)
					}
				})
			}
		})
	}
}

func oktaFlow(t *testing.T, idp *scimclient.Client, f *feedReader) {
	wantStatus(t, send(t, idp, "GET", "/Users?startIndex=1&count=2", nil), 200, "connector test")
	f.expect("connector test")
	ada := wantStatus(t, send(t, idp, "POST", "/Users", oktaUser("ada@acme.example", "Ada", "Lovelace")), 201, "create")["id"].(string)
	f.ids[ada] = "ada"
	f.expect("create user", "user.created ada")
	grace := wantStatus(t, send(t, idp, "POST", "/Users", oktaUser("grace@acme.example", "Grace", "Hopper")), 201, "create")["id"].(string)
	f.ids[grace] = "grace"
	f.expect("create user", "user.created grace")
	wantStatus(t, send(t, idp, "PUT", "/Users/"+ada, func() map[string]any {
		u := oktaUser("ada@acme.example", "Ada", "King")
		u["displayName"] = "Ada King"
		return u
	}()), 200, "profile push")
	f.expect("profile push (PUT)", "user.updated ada displayName,name (put)")
	admins := wantStatus(t, send(t, idp, "POST", "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Admins", "members": []any{},
	}), 201, "push group")["id"].(string)
	f.ids[admins] = "admins"
	f.expect("push group", "group.created admins")
	wantStatus(t, send(t, idp, "PATCH", "/Groups/"+admins, patch(op("add", "members", []any{map[string]any{"value": ada}, map[string]any{"value": grace}}))), 204, "members")
	f.expect("push memberships",
		"group.member_added admins ada", "group.member_added admins grace",
		"user.roles_changed ada []->[Admins]", "user.roles_changed grace []->[Admins]")
	wantStatus(t, send(t, idp, "PATCH", "/Groups/"+admins, patch(op("replace", "", map[string]any{"id": admins, "displayName": "Administrators"}))), 204, "rename")
	f.expect("rename group", "group.updated admins displayName (patch)",
		"user.roles_changed ada [Admins]->[Administrators]", "user.roles_changed grace [Admins]->[Administrators]")
	wantStatus(t, send(t, idp, "PATCH", "/Groups/"+admins, patch(op("remove", `members[value eq "`+grace+`"]`, nil))), 204, "unlink")
	f.expect("unassign from group", "group.member_removed admins grace", "user.roles_changed grace [Administrators]->[]")
	wantStatus(t, send(t, idp, "PATCH", "/Users/"+grace, patch(op("replace", "", map[string]any{"active": false}))), 200, "deactivate")
	f.expect("deactivate", "user.deactivated grace")
	wantStatus(t, send(t, idp, "PATCH", "/Users/"+grace, patch(op("replace", "", map[string]any{"active": true}))), 200, "reactivate")
	f.expect("reactivate", "user.reactivated grace")
	wantStatus(t, send(t, idp, "DELETE", "/Groups/"+admins, nil), 204, "delete group")
	f.expect("delete group", "group.deleted admins", "user.roles_changed ada [Administrators]->[]")
}

func entraFlow(t *testing.T, idp *scimclient.Client, f *feedReader) {
	wantStatus(t, send(t, idp, "GET", `/Users?filter=userName+eq+"probe"`, nil), 200, "test connection")
	f.expect("test connection")
	user := map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
		"externalId": "b1c2", "userName": "alex@contoso.example", "active": true, "displayName": "Alex Wu",
		"emails": []any{map[string]any{"primary": true, "type": "work", "value": "alex@contoso.example"}},
		"name":   map[string]any{"formatted": "Alex Wu", "familyName": "Wu", "givenName": "Alex"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "Sales"},
	}
	alex := wantStatus(t, send(t, idp, "POST", "/Users", user), 201, "create")["id"].(string)
	f.ids[alex] = "alex"
	f.expect("create user", "user.created alex")
	wantStatus(t, send(t, idp, "PATCH", "/Users/"+alex, patch(op("Replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Marketing"))), 200, "attribute change")
	f.expect("attribute change", "user.updated alex urn:ietf:params:scim:schemas:extension:enterprise:2.0:User (patch)")
	group := wantStatus(t, send(t, idp, "POST", "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "externalId": "g1", "displayName": "Sales",
	}), 201, "create group")["id"].(string)
	f.ids[group] = "Sales"
	f.expect("create group", "group.created Sales")
	wantStatus(t, send(t, idp, "PATCH", "/Groups/"+group, patch(op("Add", "members", []any{map[string]any{"value": alex}}))), 204, "add member")
	f.expect("add member", "group.member_added Sales alex", "user.roles_changed alex []->[Sales]")
	wantStatus(t, send(t, idp, "PATCH", "/Groups/"+group, patch(op("Remove", "members", []any{map[string]any{"value": alex}}))), 204, "remove member")
	f.expect("remove member", "group.member_removed Sales alex", "user.roles_changed alex [Sales]->[]")
	wantStatus(t, send(t, idp, "PATCH", "/Users/"+alex, patch(op("Replace", "active", "False"))), 200, "disable")
	f.expect("disable", "user.deactivated alex")
	wantStatus(t, send(t, idp, "DELETE", "/Users/"+alex, nil), 204, "delete")
	f.expect("delete", "user.deleted alex")
}

// TestEventFeedFollow: Follow with an all-tenants key sees every tenant's events in order
// as they happen, and a long-polling request is answered as soon as an event is written.
func TestEventFeedFollow(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var creds [2]*sdk.IssuedCredential
			for i := range creds {
				tn, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: fmt.Sprintf("t%d", i)})
				if err != nil {
					t.Fatal(err)
				}
				if creds[i], err = e.admin.MintCredential(ctx, tn.ID); err != nil {
					t.Fatal(err)
				}
			}
			reader := e.client(e.full.APIKey(t, "", "read"))
			type seen struct {
				e  sdk.Event
				at time.Time
			}
			got := make(chan seen, 100)
			go func() {
				for ev, err := range reader.Follow(ctx, sdk.EventOptions{Wait: 10 * time.Second, Types: []string{"user.created"}}) {
					if err != nil {
						close(got)
						return
					}
					got <- seen{ev, time.Now()}
				}
			}()
			const n = 6
			lastSeq := map[string]int64{}
			var maxDelay time.Duration
			for i := 0; i < n; i++ {
				c := creds[i%2]
				idp := e.scim(c.Username, c.Password)
				wantStatus(t, send(t, idp, "POST", "/Users", oktaUser(fmt.Sprintf("u%d@x.example", i), "U", "X")), 201, "create")
				sent := time.Now()
				select {
				case s, ok := <-got:
					if !ok {
						t.Fatal("Follow ended")
					}
					if s.e.Type != "user.created" || s.e.Data.Resource["userName"] != fmt.Sprintf("u%d@x.example", i) || s.e.Seq <= lastSeq[s.e.TenantID] {
						t.Fatalf("event %d: %+v", i, s.e)
					}
					lastSeq[s.e.TenantID] = s.e.Seq
					maxDelay = max(maxDelay, s.at.Sub(sent))
				case <-ctx.Done():
					t.Fatalf("event %d never arrived", i)
				}
			}
			// A waiting request is woken by the write, not by its poll interval.
			if maxDelay > 5*time.Second {
				t.Errorf("slowest event took %v to arrive", maxDelay)
			}
			_, err := reader.ListEvents(ctx, sdk.EventOptions{Types: []string{"user.exploded"}})
			wantProblem(t, err, 400, "types")
			_, err = reader.ListEvents(ctx, sdk.EventOptions{After: "x"})
			wantProblem(t, err, 400, "after")
		})
	}
}

// TestEventFeedDeletes: deleting a user who belongs to groups records their leaving each
// group (with the group as it is afterwards), then user.deleted, and no roles change of a
// user who is gone; deleting a group records group.deleted, then the role taken from each
// member.
func TestEventFeedDeletes(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()
			tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "deletes"})
			if err != nil {
				t.Fatal(err)
			}
			cred, err := e.admin.MintCredential(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			idp := e.scim(cred.Username, cred.Password)
			f := &feedReader{t: t, c: e.client(e.full.APIKey(t, tenant.ID, "read")), ids: map[string]string{}}
			user := func(name string) string {
				id := wantStatus(t, send(t, idp, "POST", "/Users", oktaUser(name+"@acme.example", name, "X")), 201, "create "+name)["id"].(string)
				f.ids[id] = name
				f.expect("create "+name, "user.created "+name)
				return id
			}
			ada, grace, linus := user("ada"), user("grace"), user("linus")
			group := func(name string, members ...string) string {
				var m []any
				for _, id := range members {
					m = append(m, map[string]any{"value": id})
				}
				id := wantStatus(t, send(t, idp, "POST", "/Groups", map[string]any{
					"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": m,
				}), 201, "create "+name)["id"].(string)
				f.ids[id] = name
				return id
			}
			admins := group("Admins", ada, grace, linus)
			f.expect("create Admins", "group.created Admins",
				"group.member_added Admins ada", "group.member_added Admins grace", "group.member_added Admins linus",
				"user.roles_changed ada []->[Admins]", "user.roles_changed grace []->[Admins]", "user.roles_changed linus []->[Admins]")
			eng := group("Eng", ada, linus)
			f.expect("create Eng", "group.created Eng", "group.member_added Eng ada", "group.member_added Eng linus",
				"user.roles_changed ada [Admins]->[Admins Eng]", "user.roles_changed linus [Admins]->[Admins Eng]")

			wantStatus(t, send(t, idp, "DELETE", "/Users/"+ada, nil), 204, "delete ada")
			f.expect("delete a user in two groups", "group.member_removed Admins ada", "group.member_removed Eng ada", "user.deleted ada")
			// Each group.member_removed carries its group as it is after the change: the
			// version a GET now gives.
			page, err := f.c.ListEvents(ctx, sdk.EventOptions{Types: []string{"group.member_removed"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Data) != 2 {
				t.Fatalf("group.member_removed events: %d, want 2", len(page.Data))
			}
			for _, ev := range page.Data {
				id := fmt.Sprint(ev.Data.Resource["id"])
				g := wantStatus(t, send(t, idp, "GET", "/Groups/"+id, nil), 200, "get group")
				want := g["meta"].(map[string]any)["version"]
				if got := ev.Data.Resource["meta"].(map[string]any)["version"]; got != want || ev.Data.User == nil || ev.Data.User.ID != ada || ev.Data.User.Display != "ada@acme.example" {
					t.Errorf("member_removed of %s: version %v (GET gives %v), user %+v", f.ids[id], got, want, ev.Data.User)
				}
			}

			wantStatus(t, send(t, idp, "DELETE", "/Groups/"+admins, nil), 204, "delete Admins")
			f.expect("delete a group of two", "group.deleted Admins",
				"user.roles_changed grace [Admins]->[]", "user.roles_changed linus [Admins Eng]->[Eng]")
			wantStatus(t, send(t, idp, "DELETE", "/Users/"+grace, nil), 204, "delete grace")
			f.expect("delete a user in no group", "user.deleted grace")
			wantStatus(t, send(t, idp, "DELETE", "/Groups/"+eng, nil), 204, "delete Eng")
			f.expect("delete the last group", "group.deleted Eng", "user.roles_changed linus [Eng]->[]")
			wantStatus(t, send(t, idp, "DELETE", "/Users/"+linus, nil), 204, "delete linus")
			f.expect("delete linus", "user.deleted linus")
		})
	}
}
