package httpapi_test

// End-to-end tests of groups, which are roles: a user's roles are the groups it belongs
// to. Every test runs over real HTTP against a real store of each backend, replays what
// Okta (catalog and custom apps) and Microsoft Entra ID send, and after every step checks
// the whole state against a model: each user's "groups" (GET /Users/{id}), the filters
// groups.value and groups.display, each group's members, and the Okta import list.
//
// Helpers are prefixed g to stay clear of helpers_test.go and bench_test.go.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

const (
	gGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group"
	gUserSchema  = "urn:ietf:params:scim:schemas:core:2.0:User"
	gPatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	gErrorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"
	gEntraGroup  = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
	// gMissingID is an id no user has.
	gMissingID = "00000000-0000-4000-8000-00000000dead"
)

// gBackends runs fn once per store backend, each over its own HTTP server.
func gBackends(t *testing.T, fn func(t *testing.T, srv *storetest.Server)) {
	t.Helper()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, storetest.StartServer(t, b.Open(t)))
		})
	}
}

// gWorld is one tenant as an identity provider sees it, with the model of what the
// server must hold.
type gWorld struct {
	t      gTB
	srv    *storetest.Server
	tn     *storetest.Tenant
	c      *scimclient.Client
	users  []gUser
	groups map[string]*gGroup // by id
	gone   []string           // ids of deleted groups
	goneU  []string           // ids of deleted users
}

type gUser struct{ id, userName string }

type gGroup struct {
	name    string
	members []string // user ids
}

func gNewWorld(t *testing.T, srv *storetest.Server, tenant string) *gWorld {
	t.Helper()
	tn := srv.NewTenant(t, tenant)
	return &gWorld{t: t, srv: srv, tn: tn, c: tn.Client, groups: map[string]*gGroup{}}
}

// gTB is what the helpers need of a *testing.T; a fake one lets a test check that the
// helpers do fail.
type gTB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// gDo sends a request and fails the test on a transport error.
func gDo(t gTB, c *scimclient.Client, method, path string, body any, header ...string) *scimclient.Response {
	t.Helper()
	req := scimclient.Request{Method: method, Path: path, Body: body}
	if len(header) > 0 {
		req.Header = http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := c.Send(context.Background(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// gWant checks the status and returns the decoded body (nil when there is none).
func gWant(t gTB, resp *scimclient.Response, status int, what string) map[string]any {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, resp.Status, status, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	m, err := resp.JSON()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return m
}

// gWantError checks an RFC 7644 §3.12 error response.
func gWantError(t gTB, resp *scimclient.Response, status int, scimType string, detailHas string, what string) {
	t.Helper()
	m := gWant(t, resp, status, what)
	if m == nil {
		t.Fatalf("%s: %d without an error body", what, status)
	}
	if !reflect.DeepEqual(m["schemas"], []any{gErrorSchema}) {
		t.Errorf("%s: error schemas = %v", what, m["schemas"])
	}
	if m["status"] != fmt.Sprint(status) {
		t.Errorf("%s: error status = %#v, want %q", what, m["status"], fmt.Sprint(status))
	}
	if got, _ := m["scimType"].(string); got != scimType {
		t.Errorf("%s: scimType = %q, want %q (body %s)", what, got, scimType, resp.Body)
	}
	if detail, _ := m["detail"].(string); !strings.Contains(detail, detailHas) {
		t.Errorf("%s: detail %q does not mention %q", what, detail, detailHas)
	}
}

func gFilter(f string) string {
	return strings.ReplaceAll(url.QueryEscape(f), "+", "%20")
}

func gPatchBody(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, op := range ops {
		list[i] = op
	}
	return map[string]any{"schemas": []any{gPatchSchema}, "Operations": list}
}

func gOp(op, path string, value any) map[string]any {
	m := map[string]any{"op": op}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// gMembers is a member list as Okta sends it: value and display.
func (w *gWorld) gMembers(ids ...string) []any {
	out := []any{}
	for _, id := range ids {
		out = append(out, map[string]any{"value": id, "display": w.userName(id)})
	}
	return out
}

func (w *gWorld) do(method, path string, body any, header ...string) *scimclient.Response {
	w.t.Helper()
	return gDo(w.t, w.c, method, path, body, header...)
}

func (w *gWorld) userName(id string) string {
	for _, u := range w.users {
		if u.id == id {
			return u.userName
		}
	}
	w.t.Fatalf("no user %s in the model", id)
	return ""
}

// createUser creates a user as Okta does and adds it to the model.
func (w *gWorld) createUser(userName string) string {
	w.t.Helper()
	body := map[string]any{
		"schemas":  []any{gUserSchema},
		"userName": userName,
		"name":     map[string]any{"givenName": userName, "familyName": "Test"},
		"emails":   []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"active":   true,
	}
	m := gWant(w.t, w.do("POST", "/Users", body), http.StatusCreated, "create user "+userName)
	id, _ := m["id"].(string)
	if id == "" {
		w.t.Fatalf("create user %s: no id in %v", userName, m)
	}
	w.users = append(w.users, gUser{id: id, userName: userName})
	return id
}

// set records what a group must now be.
func (w *gWorld) set(gid, name string, members ...string) {
	w.groups[gid] = &gGroup{name: name, members: members}
}

// drop records that a group was deleted.
func (w *gWorld) drop(gid string) {
	delete(w.groups, gid)
	w.gone = append(w.gone, gid)
}

// dropUser records that a user was deleted: it leaves every group.
func (w *gWorld) dropUser(id string) {
	w.users = slices.DeleteFunc(w.users, func(u gUser) bool { return u.id == id })
	for _, g := range w.groups {
		g.members = slices.DeleteFunc(g.members, func(m string) bool { return m == id })
	}
	w.goneU = append(w.goneU, id)
}

// roles is the model's answer: the groups a user belongs to.
func (w *gWorld) roles(uid string) []string {
	var out []string
	for gid, g := range w.groups {
		if slices.Contains(g.members, uid) {
			out = append(out, gid)
		}
	}
	sort.Strings(out)
	return out
}

func (w *gWorld) holders(gid string) []string {
	out := slices.Clone(w.groups[gid].members)
	sort.Strings(out)
	return out
}

// userGroupsOf reads a rendered user's "groups", checking each entry exactly, and
// returns the group ids, sorted.
func (w *gWorld) userGroupsOf(u map[string]any, step string) []string {
	w.t.Helper()
	raw, present := u["groups"]
	list, ok := raw.([]any)
	if present && !ok {
		w.t.Fatalf("%s: user %v: groups is %T, want an array", step, u["id"], raw)
	}
	var ids []string
	for _, item := range list {
		e, _ := item.(map[string]any)
		gid, _ := e["value"].(string)
		g := w.groups[gid]
		if g == nil {
			w.t.Fatalf("%s: user %v (%v) holds role %v which the model does not have; groups %v", step, u["id"], u["userName"], item, list)
		}
		want := map[string]any{"value": gid, "$ref": w.srv.URL + "/Groups/" + gid, "display": g.name, "type": "direct"}
		if !reflect.DeepEqual(e, want) {
			w.t.Fatalf("%s: user %v: groups entry %v, want %v", step, u["userName"], e, want)
		}
		ids = append(ids, gid)
	}
	sort.Strings(ids)
	return ids
}

func (w *gWorld) names(gids []string) []string {
	var out []string
	for _, gid := range gids {
		if g := w.groups[gid]; g != nil {
			out = append(out, g.name)
		} else {
			out = append(out, gid)
		}
	}
	return out
}

func (w *gWorld) userNames(ids []string) []string {
	var out []string
	for _, id := range ids {
		name := id
		for _, u := range w.users {
			if u.id == id {
				name = u.userName
			}
		}
		out = append(out, name)
	}
	return out
}

// listUserIDs runs a user filter and returns the ids found, checking totalResults and
// each user's groups.
func (w *gWorld) listUserIDs(filter, step string) []string {
	w.t.Helper()
	m := gWant(w.t, w.do("GET", "/Users?filter="+gFilter(filter)+"&startIndex=1&count=100", nil), http.StatusOK, step+": GET /Users?filter="+filter)
	res, _ := m["Resources"].([]any)
	var ids []string
	for _, r := range res {
		u, _ := r.(map[string]any)
		id, _ := u["id"].(string)
		ids = append(ids, id)
		if got, want := w.userGroupsOf(u, step+" ("+filter+")"), w.roles(id); !slices.Equal(got, want) {
			w.t.Fatalf("%s: in %s, user %v has roles %v, want %v", step, filter, u["userName"], w.names(got), w.names(want))
		}
	}
	if total := fmt.Sprint(m["totalResults"]); total != fmt.Sprint(len(ids)) {
		w.t.Fatalf("%s: %s: totalResults %s but %d resources", step, filter, total, len(ids))
	}
	sort.Strings(ids)
	return ids
}

// groupMembersOf reads a rendered group's members, checking each entry exactly, and
// returns the user ids, sorted.
func (w *gWorld) groupMembersOf(g map[string]any, step string) []string {
	w.t.Helper()
	raw, present := g["members"]
	list, ok := raw.([]any)
	if present && !ok {
		w.t.Fatalf("%s: group %v: members is %T, want an array", step, g["displayName"], raw)
	}
	var ids []string
	for _, item := range list {
		e, _ := item.(map[string]any)
		uid, _ := e["value"].(string)
		want := map[string]any{"value": uid, "$ref": w.srv.URL + "/Users/" + uid, "display": w.userNameOrID(uid), "type": "User"}
		if !reflect.DeepEqual(e, want) {
			w.t.Fatalf("%s: group %v: member %v, want %v", step, g["displayName"], e, want)
		}
		ids = append(ids, uid)
	}
	sort.Strings(ids)
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		w.t.Fatalf("%s: group %v lists a member twice: %v", step, g["displayName"], ids)
	}
	return ids
}

func (w *gWorld) userNameOrID(id string) string {
	for _, u := range w.users {
		if u.id == id {
			return u.userName
		}
	}
	return "<unknown user " + id + ">"
}

// check compares everything the server shows about roles with the model.
func (w *gWorld) check(step string) {
	w.t.Helper()
	// Each user's roles, as GET /Users/{id} shows them.
	for _, u := range w.users {
		resp := w.do("GET", "/Users/"+u.id, nil)
		m := gWant(w.t, resp, http.StatusOK, step+": GET user "+u.userName)
		got, want := w.userGroupsOf(m, step), w.roles(u.id)
		if !slices.Equal(got, want) {
			w.t.Fatalf("%s: user %s has roles %v, want %v", step, u.userName, w.names(got), w.names(want))
		}
	}
	// Who holds each role, by group id and by display name, and each group's members.
	for gid, g := range w.groups {
		want := w.holders(gid)
		if got := w.listUserIDs(`groups.value eq "`+gid+`"`, step); !slices.Equal(got, want) {
			w.t.Fatalf("%s: groups.value eq %q finds %v, want %v", step, g.name, w.userNames(got), w.userNames(want))
		}
		if got := w.listUserIDs(`groups.display eq "`+g.name+`"`, step); !slices.Equal(got, want) {
			w.t.Fatalf("%s: groups.display eq %q finds %v, want %v", step, g.name, w.userNames(got), w.userNames(want))
		}
		resp := w.do("GET", "/Groups/"+gid, nil)
		m := gWant(w.t, resp, http.StatusOK, step+": GET group "+g.name)
		if m["id"] != gid || m["displayName"] != g.name {
			w.t.Fatalf("%s: GET group %s: id %v displayName %v, want %q", step, gid, m["id"], m["displayName"], g.name)
		}
		if got := w.groupMembersOf(m, step); !slices.Equal(got, want) {
			w.t.Fatalf("%s: group %s has members %v, want %v", step, g.name, w.userNames(got), w.userNames(want))
		}
		meta, _ := m["meta"].(map[string]any)
		if meta["version"] != resp.Header.Get("ETag") || resp.Header.Get("ETag") == "" {
			w.t.Fatalf("%s: group %s: meta.version %v, ETag %q", step, g.name, meta["version"], resp.Header.Get("ETag"))
		}
	}
	// Deleted groups are gone, and nobody holds them.
	for _, gid := range w.gone {
		gWantError(w.t, w.do("GET", "/Groups/"+gid, nil), http.StatusNotFound, "", "", step+": GET deleted group")
		if got := w.listUserIDs(`groups.value eq "`+gid+`"`, step); len(got) != 0 {
			w.t.Fatalf("%s: deleted group %s is still held by %v", step, gid, w.userNames(got))
		}
	}
	for _, uid := range w.goneU {
		gWantError(w.t, w.do("GET", "/Users/"+uid, nil), http.StatusNotFound, "", "", step+": GET deleted user")
	}
	// Okta's import: every group, with its members.
	m := gWant(w.t, w.do("GET", "/Groups?startIndex=1&count=100", nil), http.StatusOK, step+": GET /Groups")
	res, _ := m["Resources"].([]any)
	if fmt.Sprint(m["totalResults"]) != fmt.Sprint(len(w.groups)) || len(res) != len(w.groups) {
		w.t.Fatalf("%s: GET /Groups: totalResults %v, %d resources, want %d", step, m["totalResults"], len(res), len(w.groups))
	}
	for _, r := range res {
		g, _ := r.(map[string]any)
		gid, _ := g["id"].(string)
		mg := w.groups[gid]
		if mg == nil {
			w.t.Fatalf("%s: GET /Groups lists %v, which the model does not have", step, g["displayName"])
		}
		if _, ok := g["members"]; !ok && len(mg.members) > 0 {
			w.t.Fatalf("%s: GET /Groups: group %s has no members attribute", step, mg.name)
		}
		if got, want := w.groupMembersOf(g, step+" (list)"), w.holders(gid); !slices.Equal(got, want) {
			w.t.Fatalf("%s: GET /Groups: group %s has members %v, want %v", step, mg.name, w.userNames(got), w.userNames(want))
		}
	}
}

// patch sends a group PATCH and expects 204 with no body (RFC 7644 §3.5.2, no
// "attributes" parameter), returning the ETag it carries.
func (w *gWorld) patch(gid, step string, ops ...map[string]any) string {
	w.t.Helper()
	resp := w.do("PATCH", "/Groups/"+gid, gPatchBody(ops...))
	gWant(w.t, resp, http.StatusNoContent, step)
	if len(resp.Body) != 0 {
		w.t.Fatalf("%s: 204 with a body: %s", step, resp.Body)
	}
	return resp.Header.Get("ETag")
}

func (w *gWorld) groupETag(gid string) string {
	w.t.Helper()
	resp := w.do("GET", "/Groups/"+gid, nil)
	m := gWant(w.t, resp, http.StatusOK, "GET group")
	meta, _ := m["meta"].(map[string]any)
	if et := resp.Header.Get("ETag"); et == "" || et != meta["version"] {
		w.t.Fatalf("group %s: ETag %q, meta.version %v", gid, et, meta["version"])
	}
	return resp.Header.Get("ETag")
}

func (w *gWorld) userETag(uid string) string {
	w.t.Helper()
	resp := w.do("GET", "/Users/"+uid, nil)
	gWant(w.t, resp, http.StatusOK, "GET user")
	return resp.Header.Get("ETag")
}

// findGroup is the existence check by name; it returns the ids found.
func (w *gWorld) findGroup(name, extra string) ([]string, []map[string]any) {
	w.t.Helper()
	path := "/Groups?" + extra + "filter=" + gFilter(`displayName eq "`+name+`"`) + "&startIndex=1&count=100"
	m := gWant(w.t, w.do("GET", path, nil), http.StatusOK, "GET "+path)
	res, _ := m["Resources"].([]any)
	if fmt.Sprint(m["totalResults"]) != fmt.Sprint(len(res)) {
		w.t.Fatalf("GET %s: totalResults %v with %d resources", path, m["totalResults"], len(res))
	}
	var ids []string
	var groups []map[string]any
	for _, r := range res {
		g, _ := r.(map[string]any)
		id, _ := g["id"].(string)
		ids = append(ids, id)
		groups = append(groups, g)
	}
	return ids, groups
}

// createGroup POSTs a group as Okta's catalog apps do and records it.
func (w *gWorld) createGroup(name string, members ...string) string {
	w.t.Helper()
	body := map[string]any{"schemas": []any{gGroupSchema}, "displayName": name, "members": w.gMembers(members...)}
	resp := w.do("POST", "/Groups", body)
	m := gWant(w.t, resp, http.StatusCreated, "create group "+name)
	gid, _ := m["id"].(string)
	if gid == "" {
		w.t.Fatalf("create group %s: no id", name)
	}
	w.set(gid, name, members...)
	return gid
}

// ---------------------------------------------------------------------------------------
// 1. Okta catalog (OIN) app: group push through PATCH.

func TestGroupsE2EOktaCatalogPush(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "okta-oin")
		// Okta's catalog apps authenticate with Basic (or a bearer): use Basic here.
		c := *w.c
		c.Authorization = scimclient.Basic(w.tn.Issued.Credential.ID, w.tn.Issued.Password)
		w.c = &c

		alice := w.createUser("alice@example.com")
		bob := w.createUser("bob@example.com")
		carol := w.createUser("carol@example.com")
		w.createUser("dave@example.com") // never in a group: keeps the empty role throughout
		w.check("users created")

		if ids, _ := w.findGroup("Admins", ""); len(ids) != 0 {
			t.Fatalf("existence check before push found %v", ids)
		}

		resp := w.do("POST", "/Groups", map[string]any{"schemas": []any{gGroupSchema}, "displayName": "Admins", "members": []any{}})
		m := gWant(t, resp, http.StatusCreated, "push group")
		gid, _ := m["id"].(string)
		if gid == "" || m["displayName"] != "Admins" {
			t.Fatalf("push group: %s", resp.Body)
		}
		if loc := resp.Header.Get("Location"); loc != srv.URL+"/Groups/"+gid {
			t.Errorf("Location %q, want %q", loc, srv.URL+"/Groups/"+gid)
		}
		if members, ok := m["members"].([]any); ok && len(members) != 0 {
			t.Fatalf("group pushed with members [] has members %v", members)
		}
		meta, _ := m["meta"].(map[string]any)
		if meta["resourceType"] != "Group" || meta["location"] != srv.URL+"/Groups/"+gid || meta["version"] != resp.Header.Get("ETag") {
			t.Errorf("push group: meta %v, ETag %q", meta, resp.Header.Get("ETag"))
		}
		w.set(gid, "Admins")
		w.check("group pushed")

		if ids, _ := w.findGroup("Admins", ""); !slices.Equal(ids, []string{gid}) {
			t.Fatalf("existence check after push found %v, want [%s]", ids, gid)
		}
		if ids, _ := w.findGroup("admins", ""); !slices.Equal(ids, []string{gid}) {
			t.Fatalf("displayName filter is case-insensitive: found %v, want [%s]", ids, gid)
		}

		before := w.groupETag(gid)
		et := w.patch(gid, "add alice", gOp("add", "members", w.gMembers(alice)))
		if et == "" || et == before {
			t.Errorf("add alice: 204 ETag %q (before %q)", et, before)
		}
		w.set(gid, "Admins", alice)
		w.check("add alice")
		if got := w.groupETag(gid); got != et {
			t.Errorf("ETag of the 204 %q differs from the group's %q", et, got)
		}

		w.patch(gid, "add bob", gOp("add", "members", w.gMembers(bob)))
		w.set(gid, "Admins", alice, bob)
		w.check("add bob")

		// Okta's usual membership update: remove by filter and add, in one request.
		w.patch(gid, "remove alice, add carol",
			gOp("remove", `members[value eq "`+alice+`"]`, nil),
			gOp("add", "members", w.gMembers(carol)))
		w.set(gid, "Admins", bob, carol)
		w.check("remove alice, add carol")

		w.patch(gid, "remove bob", gOp("remove", `members[value eq "`+bob+`"]`, nil))
		w.set(gid, "Admins", carol)
		w.check("remove bob")

		w.patch(gid, "full push", gOp("replace", "members", w.gMembers(alice, bob)))
		w.set(gid, "Admins", alice, bob)
		w.check("full push alice, bob")

		// Rename: a path-less replace echoing the id; the members stay.
		w.patch(gid, "rename", gOp("replace", "", map[string]any{"id": gid, "displayName": "Administrators"}))
		w.set(gid, "Administrators", alice, bob)
		w.check("rename to Administrators")
		if got := w.listUserIDs(`groups.display eq "Admins"`, "after rename"); len(got) != 0 {
			t.Fatalf("old role name still held by %v", w.userNames(got))
		}

		// With "attributes", PATCH answers 200 with the resource.
		resp = w.do("PATCH", "/Groups/"+gid+"?attributes=displayName", gPatchBody(gOp("replace", "", map[string]any{"id": gid, "displayName": "Admins"})))
		m = gWant(t, resp, http.StatusOK, "rename with attributes=displayName")
		if m["id"] != gid || m["displayName"] != "Admins" {
			t.Fatalf("PATCH ?attributes=displayName: %s", resp.Body)
		}
		if _, ok := m["members"]; ok {
			t.Errorf("PATCH ?attributes=displayName returned members: %s", resp.Body)
		}
		if resp.Header.Get("ETag") == "" {
			t.Errorf("PATCH 200 without ETag")
		}
		w.set(gid, "Admins", alice, bob)
		w.check("rename back with attributes=displayName")

		w.patch(gid, "push empty", gOp("replace", "members", []any{}))
		w.set(gid, "Admins")
		w.check("push of an empty group")

		w.patch(gid, "push carol", gOp("replace", "members", w.gMembers(carol)))
		w.set(gid, "Admins", carol)
		w.check("push carol")

		w.patch(gid, "path-less replace emptying", gOp("replace", "", map[string]any{"members": []any{}, "id": gid, "displayName": "Admins"}))
		w.set(gid, "Admins")
		w.check("path-less replace with members []")

		w.patch(gid, "path-less replace members", gOp("replace", "", map[string]any{"members": w.gMembers(alice, bob), "id": gid, "displayName": "Admins"}))
		w.set(gid, "Admins", alice, bob)
		w.check("path-less replace with members alice, bob")

		readers := w.createGroup("Readers")
		w.patch(readers, "add alice to Readers", gOp("add", "members", w.gMembers(alice)))
		w.set(readers, "Readers", alice)
		w.check("alice in Admins and Readers")

		// Unlink with "Delete the group in the target app".
		resp = w.do("DELETE", "/Groups/"+gid, nil)
		gWant(t, resp, http.StatusNoContent, "delete group")
		if len(resp.Body) != 0 {
			t.Errorf("DELETE 204 with a body: %s", resp.Body)
		}
		w.drop(gid)
		w.check("Admins deleted")
		if ids, _ := w.findGroup("Admins", ""); len(ids) != 0 {
			t.Fatalf("existence check after delete found %v", ids)
		}
		gWantError(t, w.do("DELETE", "/Groups/"+gid, nil), http.StatusNotFound, "", "", "delete again")
		gWantError(t, w.do("PATCH", "/Groups/"+gid, gPatchBody(gOp("add", "members", w.gMembers(bob)))), http.StatusNotFound, "", "", "patch deleted group")
		w.check("after requests on the deleted group")
	})
}

// ---------------------------------------------------------------------------------------
// 2. Okta custom (AIW) app: every change is GET then a full PUT.

func TestGroupsE2EOktaCustomPush(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "okta-aiw")
		alice := w.createUser("alice@example.com")
		bob := w.createUser("bob@example.com")
		carol := w.createUser("carol@example.com")
		w.check("users created")

		resp := w.do("POST", "/Groups", map[string]any{"schemas": []any{gGroupSchema}, "displayName": "okta-lab-users", "members": w.gMembers(alice)})
		m := gWant(t, resp, http.StatusCreated, "push group with members")
		gid, _ := m["id"].(string)
		w.set(gid, "okta-lab-users", alice)
		if got := w.groupMembersOf(m, "POST response"); !slices.Equal(got, []string{alice}) {
			t.Fatalf("POST response members %v, want alice", w.userNames(got))
		}
		w.check("pushed with alice")

		// getPut is one AIW update: GET the group, change the document, PUT it whole.
		getPut := func(step string, change func(doc map[string]any)) {
			t.Helper()
			doc := gWant(t, w.do("GET", "/Groups/"+gid, nil), http.StatusOK, step+": GET")
			if _, ok := doc["meta"]; !ok {
				t.Fatalf("%s: GET has no meta to echo", step)
			}
			change(doc)
			resp := w.do("PUT", "/Groups/"+gid, doc)
			m := gWant(t, resp, http.StatusOK, step+": PUT")
			wantMembers := w.holders(gid)
			if got := w.groupMembersOf(m, step+": PUT response"); !slices.Equal(got, wantMembers) {
				t.Fatalf("%s: PUT response members %v, want %v", step, w.userNames(got), w.userNames(wantMembers))
			}
			if m["displayName"] != w.groups[gid].name {
				t.Fatalf("%s: PUT response displayName %v", step, m["displayName"])
			}
			w.check(step)
		}
		// members as GET returned them (with $ref and type), plus Okta-shaped additions.
		with := func(doc map[string]any, add ...string) {
			list, _ := doc["members"].([]any)
			doc["members"] = append(list, w.gMembers(add...)...)
		}
		without := func(doc map[string]any, id string) {
			list, _ := doc["members"].([]any)
			doc["members"] = slices.DeleteFunc(list, func(x any) bool { return x.(map[string]any)["value"] == id })
		}

		w.set(gid, "okta-lab-users", alice, bob)
		getPut("add bob", func(doc map[string]any) { with(doc, bob) })

		w.set(gid, "okta-lab-users", bob)
		getPut("remove alice", func(doc map[string]any) { without(doc, alice) })

		w.set(gid, "okta-lab", bob)
		getPut("rename", func(doc map[string]any) { doc["displayName"] = "okta-lab" })

		w.set(gid, "okta-lab", carol, alice)
		getPut("replace all", func(doc map[string]any) { doc["members"] = w.gMembers(carol, alice) })

		w.set(gid, "okta-lab-users", alice, bob, carol)
		getPut("rename and add bob", func(doc map[string]any) { doc["displayName"] = "okta-lab-users"; with(doc, bob) })

		w.set(gid, "okta-lab-users")
		getPut("empty", func(doc map[string]any) { doc["members"] = []any{} })

		w.set(gid, "okta-lab-users", carol)
		getPut("carol", func(doc map[string]any) { with(doc, carol) })

		// PUT replaces the whole resource: no members attribute means no members.
		w.set(gid, "okta-lab-users")
		getPut("no members attribute", func(doc map[string]any) { delete(doc, "members") })

		w.set(gid, "okta-lab-users", alice)
		getPut("alice", func(doc map[string]any) { with(doc, alice) })

		gWant(t, w.do("DELETE", "/Groups/"+gid, nil), http.StatusNoContent, "delete")
		w.drop(gid)
		w.check("deleted")
	})
}

// ---------------------------------------------------------------------------------------
// 3. Microsoft Entra ID.

func TestGroupsE2EEntra(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "entra")
		var ids []string
		for _, n := range []string{"alice", "bob", "carol", "dave"} {
			body := map[string]any{
				"schemas":    []any{gUserSchema, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
				"externalId": n + "-ext", "userName": n + "@contoso.com", "active": true,
				"emails": []any{map[string]any{"primary": true, "type": "work", "value": n + "@contoso.com"}},
				"meta":   map[string]any{"resourceType": "User"},
				"name":   map[string]any{"formatted": n + " Test", "familyName": "Test", "givenName": n},
				"roles":  []any{},
			}
			m := gWant(t, w.do("POST", "/Users", body), http.StatusCreated, "create "+n)
			id, _ := m["id"].(string)
			w.users = append(w.users, gUser{id: id, userName: n + "@contoso.com"})
			ids = append(ids, id)
		}
		alice, bob, carol := ids[0], ids[1], ids[2]
		w.check("users created")

		if found, _ := w.findGroup("Sales", "excludedAttributes=members&"); len(found) != 0 {
			t.Fatalf("match before create found %v", found)
		}
		resp := w.do("POST", "/Groups", map[string]any{
			"schemas":     []any{gGroupSchema, gEntraGroup},
			"externalId":  "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
			"displayName": "Sales",
			"meta":        map[string]any{"resourceType": "Group"},
		})
		m := gWant(t, resp, http.StatusCreated, "create group")
		gid, _ := m["id"].(string)
		if m["externalId"] != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" || m["displayName"] != "Sales" {
			t.Fatalf("create group: %s", resp.Body)
		}
		w.set(gid, "Sales")
		w.check("group created")

		noMembers := func(step string) {
			t.Helper()
			found, groups := w.findGroup(w.groups[gid].name, "excludedAttributes=members&")
			if !slices.Equal(found, []string{gid}) {
				t.Fatalf("%s: match found %v, want %s", step, found, gid)
			}
			if _, ok := groups[0]["members"]; ok {
				t.Fatalf("%s: excludedAttributes=members list returned members: %v", step, groups[0])
			}
			if groups[0]["displayName"] != w.groups[gid].name {
				t.Fatalf("%s: list item %v", step, groups[0])
			}
			resp := w.do("GET", "/Groups/"+gid+"?excludedAttributes=members", nil)
			g := gWant(t, resp, http.StatusOK, step+": GET excludedAttributes=members")
			if _, ok := g["members"]; ok {
				t.Fatalf("%s: GET excludedAttributes=members returned members: %s", step, resp.Body)
			}
			if g["id"] != gid || g["displayName"] != w.groups[gid].name || g["externalId"] == nil {
				t.Fatalf("%s: GET excludedAttributes=members: %s", step, resp.Body)
			}
		}
		noMembers("after create")

		w.patch(gid, "Replace displayName", gOp("Replace", "displayName", "Sales EMEA"))
		w.set(gid, "Sales EMEA")
		w.check("renamed")

		ref := func(id string) []any { return []any{map[string]any{"$ref": nil, "value": id}} }
		w.patch(gid, "Add alice", gOp("Add", "members", ref(alice)))
		w.set(gid, "Sales EMEA", alice)
		w.check("Add alice")
		noMembers("with a member")

		// Several membership changes in one request.
		w.patch(gid, "several changes",
			gOp("Add", "members", ref(bob)),
			gOp("Add", "members", ref(carol)),
			gOp("Remove", "members", ref(alice)))
		w.set(gid, "Sales EMEA", bob, carol)
		w.check("Add bob, Add carol, Remove alice")

		// Remove with a value list removes only the members listed (pitfall #1).
		w.patch(gid, "Remove bob", gOp("Remove", "members", ref(bob)))
		w.set(gid, "Sales EMEA", carol)
		w.check("Remove bob only")

		w.patch(gid, "Add two in one op", gOp("Add", "members", []any{map[string]any{"$ref": nil, "value": alice}, map[string]any{"$ref": nil, "value": bob}}))
		w.set(gid, "Sales EMEA", alice, bob, carol)
		w.check("Add alice and bob in one op")

		w.patch(gid, "Remove two in one op", gOp("Remove", "members", []any{map[string]any{"value": alice}, map[string]any{"value": carol}}))
		w.set(gid, "Sales EMEA", bob)
		w.check("Remove alice and carol in one op")

		// With aadOptscim062020, Entra removes with a filter.
		w.patch(gid, "Add alice", gOp("Add", "members", ref(alice)))
		w.patch(gid, "remove by filter", gOp("remove", `members[value eq "`+bob+`"]`, nil))
		w.set(gid, "Sales EMEA", alice)
		w.check("aadOptscim062020 remove bob")

		w.patch(gid, "rename and add", gOp("Replace", "displayName", "Sales"), gOp("Add", "members", ref(carol)))
		w.set(gid, "Sales", alice, carol)
		w.check("rename and add carol in one request")
		noMembers("after rename")

		gWant(t, w.do("DELETE", "/Groups/"+gid, nil), http.StatusNoContent, "DELETE")
		w.drop(gid)
		w.check("deleted")
	})
}

// ---------------------------------------------------------------------------------------
// 4. Semantics.

func TestGroupsE2ERemoveAllMembers(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		alice, bob, carol := w.createUser("alice"), w.createUser("bob"), w.createUser("carol")
		admins := w.createGroup("Admins", alice, bob, carol)
		readers := w.createGroup("Readers", alice)
		w.check("created")

		w.patch(admins, "remove all", gOp("remove", "members", nil))
		w.set(admins, "Admins")
		w.check("remove path members")

		w.patch(admins, "re-add", gOp("add", "members", w.gMembers(bob, carol)))
		w.set(admins, "Admins", bob, carol)
		w.check("re-added")
		w.patch(admins, "Remove all (Entra case)", gOp("Remove", "members", nil))
		w.set(admins, "Admins")
		w.check("Remove path members")
		_ = readers
	})
}

func TestGroupsE2EIdempotentMembershipAndVersion(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		alice, bob := w.createUser("alice"), w.createUser("bob")
		gid := w.createGroup("Admins", alice)
		w.check("created")

		e1 := w.groupETag(gid)
		ua, ub := w.userETag(alice), w.userETag(bob)
		unchanged := func(step string) {
			t.Helper()
			if got := w.groupETag(gid); got != e1 {
				t.Fatalf("%s: group ETag %s, want unchanged %s", step, got, e1)
			}
			if got := w.userETag(alice); got != ua {
				t.Fatalf("%s: alice's ETag %s, want unchanged %s", step, got, ua)
			}
			if got := w.userETag(bob); got != ub {
				t.Fatalf("%s: bob's ETag %s, want unchanged %s", step, got, ub)
			}
			w.check(step)
		}
		noop := func(step string, ops ...map[string]any) {
			t.Helper()
			if et := w.patch(gid, step, ops...); et != e1 {
				t.Fatalf("%s: 204 ETag %s, want unchanged %s", step, et, e1)
			}
			unchanged(step)
		}
		noop("add an existing member", gOp("add", "members", w.gMembers(alice)))
		noop("add an existing member twice in one op", gOp("add", "members", []any{map[string]any{"value": alice}, map[string]any{"value": alice}}))
		noop("Entra Add of an existing member", gOp("Add", "members", []any{map[string]any{"$ref": nil, "value": alice}}))
		noop("remove a non-member by filter", gOp("remove", `members[value eq "`+bob+`"]`, nil))
		noop("Entra Remove of a non-member", gOp("Remove", "members", []any{map[string]any{"value": bob}}))
		noop("remove an id that is no user", gOp("remove", `members[value eq "`+gMissingID+`"]`, nil))
		noop("replace with the same members", gOp("replace", "members", w.gMembers(alice)))
		noop("path-less add of an existing member", gOp("add", "", map[string]any{"members": w.gMembers(alice)}))
		noop("empty Operations")
		noop("rename to the same name", gOp("replace", "", map[string]any{"id": gid, "displayName": "Admins"}))
		// Ops apply in order, and only their net effect counts: bob added then removed,
		// or alice removed then added back, ends with the same members and versions.
		noop("add then remove bob", gOp("add", "members", w.gMembers(bob)), gOp("remove", `members[value eq "`+bob+`"]`, nil))
		noop("remove then re-add alice", gOp("remove", `members[value eq "`+alice+`"]`, nil), gOp("add", "members", w.gMembers(alice)))
		noop("replace with bob, then with alice", gOp("replace", "members", w.gMembers(bob)), gOp("replace", "members", w.gMembers(alice)))

		// A PUT of what GET returned changes nothing either.
		doc := gWant(t, w.do("GET", "/Groups/"+gid, nil), http.StatusOK, "GET")
		resp := w.do("PUT", "/Groups/"+gid, doc)
		gWant(t, resp, http.StatusOK, "PUT unchanged")
		if resp.Header.Get("ETag") != e1 {
			t.Fatalf("PUT of an unchanged group: ETag %s, want %s", resp.Header.Get("ETag"), e1)
		}
		unchanged("PUT unchanged")

		// A stale If-Match is refused and applies nothing.
		gWantError(t, w.do("PATCH", "/Groups/"+gid, gPatchBody(gOp("add", "members", w.gMembers(bob))), "If-Match", `W/"999"`),
			http.StatusPreconditionFailed, "", "", "stale If-Match")
		unchanged("stale If-Match")

		// Every member change gives the group a new version.
		seen := map[string]bool{e1: true}
		changed := func(step, et string) {
			t.Helper()
			if seen[et] {
				t.Fatalf("%s: ETag %s was seen before", step, et)
			}
			seen[et] = true
			if got := w.groupETag(gid); got != et {
				t.Fatalf("%s: 204 ETag %s, GET ETag %s", step, et, got)
			}
			w.check(step)
		}
		et := w.patch(gid, "add bob", gOp("add", "members", w.gMembers(bob)))
		w.set(gid, "Admins", alice, bob)
		changed("add bob", et)
		if w.userETag(bob) == ub {
			t.Fatalf("bob's ETag did not change when he gained a role")
		}
		if w.userETag(alice) != ua {
			t.Fatalf("alice's ETag changed though her roles did not")
		}
		et = w.patch(gid, "remove alice", gOp("remove", `members[value eq "`+alice+`"]`, nil))
		w.set(gid, "Admins", bob)
		changed("remove alice", et)
		et = w.patch(gid, "replace members", gOp("replace", "members", w.gMembers(alice)))
		w.set(gid, "Admins", alice)
		changed("replace members", et)
		et = w.patch(gid, "remove all", gOp("remove", "members", nil))
		w.set(gid, "Admins")
		changed("remove all", et)
		resp = w.do("PUT", "/Groups/"+gid, map[string]any{"schemas": []any{gGroupSchema}, "displayName": "Admins", "members": w.gMembers(bob)})
		gWant(t, resp, http.StatusOK, "PUT bob")
		w.set(gid, "Admins", bob)
		changed("PUT members", resp.Header.Get("ETag"))
		ua, ub = w.userETag(alice), w.userETag(bob)
		et = w.patch(gid, "rename", gOp("replace", "displayName", "Administrators"))
		w.set(gid, "Administrators", bob)
		changed("rename", et)
		if w.userETag(alice) != ua {
			t.Fatalf("renaming a group alice is not in changed her ETag")
		}
		if w.userETag(bob) == ub {
			t.Fatalf("renaming bob's group left his ETag unchanged, though his groups now show the new name")
		}

		// If-None-Match: the current ETag is 304, an older one gets the group.
		if resp := w.do("GET", "/Groups/"+gid, nil, "If-None-Match", et); resp.Status != http.StatusNotModified || len(resp.Body) != 0 {
			t.Fatalf("If-None-Match current: %d %s", resp.Status, resp.Body)
		}
		gWant(t, w.do("GET", "/Groups/"+gid, nil, "If-None-Match", e1), http.StatusOK, "If-None-Match stale")

		// Deleting the group changes its members' ETags, not the others'.
		ua, ub = w.userETag(alice), w.userETag(bob)
		gWantError(t, w.do("DELETE", "/Groups/"+gid, nil, "If-Match", e1), http.StatusPreconditionFailed, "", "", "DELETE with a stale If-Match")
		w.check("after a refused DELETE")
		gWant(t, w.do("DELETE", "/Groups/"+gid, nil, "If-Match", et), http.StatusNoContent, "DELETE with If-Match")
		w.drop(gid)
		w.check("deleted")
		if w.userETag(alice) != ua {
			t.Fatalf("deleting a group alice is not in changed her ETag")
		}
		if w.userETag(bob) == ub {
			t.Fatalf("deleting bob's group left his ETag unchanged")
		}
	})
}

func TestGroupsE2EMemberShapes(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		alice, bob, carol, dave := w.createUser("alice"), w.createUser("bob"), w.createUser("carol"), w.createUser("dave")
		full := func(id string) map[string]any {
			// A display that is not the user's name: the server renders its own.
			return map[string]any{"value": id, "display": "Someone Else", "$ref": srv.URL + "/Users/" + id, "type": "User"}
		}
		resp := w.do("POST", "/Groups", map[string]any{"schemas": []any{gGroupSchema}, "displayName": "Shapes",
			"members": []any{full(alice), map[string]any{"value": bob}, map[string]any{"value": carol, "type": "user"}}})
		m := gWant(t, resp, http.StatusCreated, "POST with member shapes")
		gid, _ := m["id"].(string)
		w.set(gid, "Shapes", alice, bob, carol)
		w.check("POST with full, bare and lower-case typed members")

		w.patch(gid, "add bare string", gOp("add", "members", dave))
		w.set(gid, "Shapes", alice, bob, carol, dave)
		w.check("add a member as a bare id string")

		w.patch(gid, "replace full", gOp("replace", "members", []any{full(bob)}))
		w.set(gid, "Shapes", bob)
		w.check("replace with a full member")

		w.patch(gid, "add lone object", gOp("add", "members", map[string]any{"value": carol}))
		w.set(gid, "Shapes", bob, carol)
		w.check("add a member as a lone object")

		resp = w.do("PUT", "/Groups/"+gid, map[string]any{"schemas": []any{gGroupSchema}, "displayName": "Shapes",
			"members": []any{map[string]any{"value": alice}, full(dave)}})
		gWant(t, resp, http.StatusOK, "PUT shapes")
		w.set(gid, "Shapes", alice, dave)
		w.check("PUT with member shapes")

		w.patch(gid, "path-less add", gOp("add", "", map[string]any{"members": w.gMembers(bob, carol)}))
		w.set(gid, "Shapes", alice, bob, carol, dave)
		w.check("path-less add of members")

		w.patch(gid, "remove with or", gOp("remove", `members[value eq "`+alice+`" or value eq "`+dave+`"]`, nil))
		w.set(gid, "Shapes", bob, carol)
		w.check("remove two members with one filter")

		w.patch(gid, "Entra remove with display", gOp("Remove", "members", []any{map[string]any{"value": carol, "display": "carol"}}))
		w.set(gid, "Shapes", bob)
		w.check("remove by value ignoring display")

		resp = w.do("PUT", "/Groups/"+gid, map[string]any{"schemas": []any{gGroupSchema}, "displayName": "Shapes",
			"members": []any{map[string]any{"value": alice}, full(dave)}})
		gWant(t, resp, http.StatusOK, "PUT shapes again")
		w.set(gid, "Shapes", alice, dave)
		w.check("PUT alice, dave")

		gWantError(t, w.do("PATCH", "/Groups/"+gid, gPatchBody(gOp("replace", `members[value eq "`+alice+`"]`, map[string]any{"display": "x"}))),
			http.StatusBadRequest, "invalidPath", "", "replace through a members filter")
		gWantError(t, w.do("PATCH", "/Groups/"+gid, gPatchBody(gOp("replace", "members.display", "x"))),
			http.StatusBadRequest, "invalidPath", "", "replace a member sub-attribute")
		gWantError(t, w.do("PATCH", "/Groups/"+gid, gPatchBody(gOp("remove", `members[display eq "alice"]`, nil))),
			http.StatusBadRequest, "invalidFilter", "", "members filter not on value")
		w.check("after refused member paths")

		// A group is a role: only users can be members; a member needs an id.
		gWantError(t, w.do("PATCH", "/Groups/"+gid, gPatchBody(gOp("add", "members", []any{map[string]any{"value": bob, "type": "Group"}}))),
			http.StatusBadRequest, "invalidValue", "Group", "member of type Group")
		gWantError(t, w.do("PATCH", "/Groups/"+gid, gPatchBody(gOp("add", "members", []any{map[string]any{"display": "bob"}}))),
			http.StatusBadRequest, "invalidValue", "value", "member without value")
		gWantError(t, w.do("POST", "/Groups", map[string]any{"displayName": "Nested", "members": []any{map[string]any{"value": gid, "type": "Group"}}}),
			http.StatusBadRequest, "invalidValue", "Group", "nested group")
		w.check("after refused shapes")

		// The schema-qualified spelling of members is the same attribute.
		qualified := gGroupSchema + ":members"
		w.patch(gid, "qualified path", gOp("add", qualified, w.gMembers(bob)))
		w.set(gid, "Shapes", alice, bob, dave)
		w.check("add through the schema-qualified path")
		w.patch(gid, "qualified path-less", gOp("replace", "", map[string]any{qualified: w.gMembers(carol)}))
		w.set(gid, "Shapes", carol)
		w.check("path-less replace with the schema-qualified key")
	})
}

func TestGroupsE2EInvalidMemberAppliesNothing(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		other := gNewWorld(t, srv, "other")
		mallory := other.createUser("mallory")
		otherGroup := other.createGroup("Admins", mallory)
		other.check("other tenant")

		alice, bob := w.createUser("alice"), w.createUser("bob")
		gid := w.createGroup("Admins", alice)
		w.check("created")
		e := w.groupETag(gid)

		for _, bad := range []struct{ name, id string }{{"random id", gMissingID}, {"user of another tenant", mallory}, {"group id", gid}} {
			refused := func(step string, resp *scimclient.Response) {
				t.Helper()
				step = bad.name + ": " + step
				gWantError(t, resp, http.StatusBadRequest, "invalidValue", bad.id, step)
				if got := w.groupETag(gid); got != e {
					t.Fatalf("%s: group ETag %s, want unchanged %s", step, got, e)
				}
				w.check(step)
				other.check(step + " (other tenant)")
			}
			refused("POST", w.do("POST", "/Groups", map[string]any{"displayName": "Bad", "members": w.gMembersRaw(alice, bad.id)}))
			if found, _ := w.findGroup("Bad", ""); len(found) != 0 {
				t.Fatalf("%s: refused POST created group %v", bad.name, found)
			}
			refused("PUT", w.do("PUT", "/Groups/"+gid, map[string]any{"displayName": "Renamed", "members": w.gMembersRaw(bob, bad.id)}))
			refused("PATCH valid add then invalid add", w.do("PATCH", "/Groups/"+gid, gPatchBody(
				gOp("add", "members", w.gMembersRaw(bob)), gOp("add", "members", w.gMembersRaw(bad.id)))))
			refused("PATCH rename then invalid add", w.do("PATCH", "/Groups/"+gid, gPatchBody(
				gOp("replace", "displayName", "Renamed"), gOp("add", "members", w.gMembersRaw(bad.id)))))
			refused("PATCH remove alice then invalid add", w.do("PATCH", "/Groups/"+gid, gPatchBody(
				gOp("remove", `members[value eq "`+alice+`"]`, nil), gOp("Add", "members", []any{map[string]any{"$ref": nil, "value": bad.id}}))))
			refused("PATCH replace members", w.do("PATCH", "/Groups/"+gid, gPatchBody(gOp("replace", "members", w.gMembersRaw(bob, bad.id)))))
			refused("PATCH path-less replace", w.do("PATCH", "/Groups/"+gid, gPatchBody(
				gOp("replace", "", map[string]any{"id": gid, "displayName": "Renamed", "members": w.gMembersRaw(bad.id)}))))
		}
		// The other tenant's group cannot gain this tenant's users either.
		gWantError(t, other.do("PATCH", "/Groups/"+otherGroup, gPatchBody(gOp("add", "members", w.gMembersRaw(alice)))),
			http.StatusBadRequest, "invalidValue", alice, "cross-tenant add")
		other.check("after cross-tenant add")
		w.check("after cross-tenant add")
	})
}

// gMembersRaw is a member list of bare {"value": id} objects, for ids the model may not know.
func (w *gWorld) gMembersRaw(ids ...string) []any {
	out := []any{}
	for _, id := range ids {
		out = append(out, map[string]any{"value": id})
	}
	return out
}

func TestGroupsE2EDisplayNameUnique(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		alice := w.createUser("alice")
		admins := w.createGroup("Admins", alice)
		readers := w.createGroup("Readers")
		w.check("created")
		ea, er := w.groupETag(admins), w.groupETag(readers)

		conflict := func(step string, resp *scimclient.Response) {
			t.Helper()
			gWantError(t, resp, http.StatusConflict, "uniqueness", "", step)
			if w.groupETag(admins) != ea || w.groupETag(readers) != er {
				t.Fatalf("%s: a refused request changed a group", step)
			}
			w.check(step)
		}
		conflict("POST same name", w.do("POST", "/Groups", map[string]any{"displayName": "Admins"}))
		conflict("POST other case", w.do("POST", "/Groups", map[string]any{"displayName": "aDMINS", "members": w.gMembers(alice)}))
		conflict("PUT rename", w.do("PUT", "/Groups/"+readers, map[string]any{"displayName": "admins", "members": w.gMembers(alice)}))
		conflict("PATCH rename by path", w.do("PATCH", "/Groups/"+readers, gPatchBody(gOp("replace", "displayName", "ADMINS"))))
		conflict("PATCH rename path-less", w.do("PATCH", "/Groups/"+readers, gPatchBody(gOp("replace", "", map[string]any{"id": readers, "displayName": "Admins"}))))
		conflict("PATCH add member then rename", w.do("PATCH", "/Groups/"+readers, gPatchBody(
			gOp("add", "members", w.gMembers(alice)), gOp("Replace", "displayName", "admins"))))
		if found, _ := w.findGroup("admins", ""); !slices.Equal(found, []string{admins}) {
			t.Fatalf("groups named admins: %v, want only %s", found, admins)
		}

		// A group may change the case of its own name.
		w.patch(admins, "own name in another case", gOp("replace", "displayName", "ADMINS"))
		w.set(admins, "ADMINS", alice)
		w.check("renamed to ADMINS")
		gWant(t, w.do("PUT", "/Groups/"+admins, map[string]any{"displayName": "Admins", "members": w.gMembers(alice)}), http.StatusOK, "PUT own name")
		w.set(admins, "Admins", alice)
		w.check("renamed back by PUT")

		// A name is free again once its group is renamed.
		w.patch(readers, "rename readers", gOp("replace", "displayName", "Writers"))
		w.set(readers, "Writers")
		w.createGroup("readers")
		w.check("old name reused")

		// Names are unique per tenant only.
		other := gNewWorld(t, srv, "other")
		bob := other.createUser("bob")
		other.createGroup("Admins", bob)
		other.check("other tenant's Admins")
		w.check("this tenant after the other tenant's Admins")
	})
}

func TestGroupsE2EUserLifecycle(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		alice, bob, carol := w.createUser("alice"), w.createUser("bob"), w.createUser("carol")
		admins := w.createGroup("Admins", alice, bob)
		readers := w.createGroup("Readers", alice, carol)
		w.check("created")

		active := func(id string, want bool, step string) {
			t.Helper()
			m := gWant(t, w.do("GET", "/Users/"+id, nil), http.StatusOK, step)
			if m["active"] != want {
				t.Fatalf("%s: active %v, want %v", step, m["active"], want)
			}
		}
		// Okta catalog deactivation; Entra's string boolean; Okta custom app GET + PUT.
		gWant(t, w.do("PATCH", "/Users/"+alice, gPatchBody(gOp("replace", "", map[string]any{"active": false}))), http.StatusOK, "deactivate alice")
		active(alice, false, "alice deactivated")
		w.check("alice deactivated keeps her roles")
		gWant(t, w.do("PATCH", "/Users/"+bob, gPatchBody(gOp("Replace", "active", "False"))), http.StatusOK, "deactivate bob")
		active(bob, false, "bob deactivated")
		w.check("bob deactivated keeps his roles")
		doc := gWant(t, w.do("GET", "/Users/"+carol, nil), http.StatusOK, "GET carol")
		doc["active"] = false
		gWant(t, w.do("PUT", "/Users/"+carol, doc), http.StatusOK, "PUT carol inactive (echoing groups)")
		active(carol, false, "carol deactivated")
		w.check("carol deactivated by PUT keeps her roles")
		if got := w.listUserIDs(`active eq false and groups.display eq "Admins"`, "inactive admins"); !slices.Equal(got, sorted(alice, bob)) {
			t.Fatalf("inactive admins: %v", w.userNames(got))
		}
		gWant(t, w.do("PATCH", "/Users/"+alice, gPatchBody(gOp("replace", "active", true))), http.StatusOK, "reactivate alice")
		active(alice, true, "alice reactivated")
		w.check("alice reactivated")

		ea, er := w.groupETag(admins), w.groupETag(readers)
		gWant(t, w.do("DELETE", "/Users/"+alice, nil), http.StatusNoContent, "delete alice")
		w.dropUser(alice)
		w.check("alice deleted")
		if w.groupETag(admins) == ea || w.groupETag(readers) == er {
			t.Fatalf("deleting a member did not change her groups' versions")
		}
		gWantError(t, w.do("PATCH", "/Groups/"+admins, gPatchBody(gOp("add", "members", w.gMembersRaw(alice)))),
			http.StatusBadRequest, "invalidValue", alice, "re-add a deleted user")
		w.check("after re-adding a deleted user")
	})
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	return out
}

func TestGroupsE2ERolesOnlyThroughGroups(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		alice := w.createUser("alice")
		admins := w.createGroup("Admins")
		w.check("created")
		claim := []any{map[string]any{"value": admins, "display": "Admins"}}

		// A user's "groups" is read-only: a client cannot grant itself a role through it.
		m := gWant(t, w.do("POST", "/Users", map[string]any{"userName": "mallory", "groups": claim}), http.StatusCreated, "POST user claiming a group")
		mallory, _ := m["id"].(string)
		w.users = append(w.users, gUser{id: mallory, userName: "mallory"})
		w.check("POST with groups")
		resp := w.do("PATCH", "/Users/"+alice, gPatchBody(gOp("add", "groups", claim)))
		if resp.Status != http.StatusOK && resp.Status != http.StatusBadRequest {
			t.Fatalf("PATCH user groups: %d %s", resp.Status, resp.Body)
		}
		w.check("PATCH user add groups")
		resp = w.do("PATCH", "/Users/"+alice, gPatchBody(gOp("replace", "", map[string]any{"groups": claim})))
		if resp.Status != http.StatusOK && resp.Status != http.StatusBadRequest {
			t.Fatalf("PATCH user path-less groups: %d %s", resp.Status, resp.Body)
		}
		w.check("PATCH user path-less groups")
		gWant(t, w.do("PUT", "/Users/"+alice, map[string]any{"userName": "alice", "groups": claim}), http.StatusOK, "PUT user with groups")
		w.check("PUT user with groups")

		// And the reverse: a PUT of a user that omits groups keeps the user's roles.
		w.patch(admins, "add alice", gOp("add", "members", w.gMembers(alice)))
		w.set(admins, "Admins", alice)
		w.check("alice added")
		gWant(t, w.do("PUT", "/Users/"+alice, map[string]any{"userName": "alice", "active": true}), http.StatusOK, "PUT user without groups")
		w.check("PUT user without groups")
		resp = w.do("PATCH", "/Users/"+alice, gPatchBody(gOp("remove", "groups", nil)))
		if resp.Status != http.StatusOK && resp.Status != http.StatusBadRequest {
			t.Fatalf("PATCH user remove groups: %d %s", resp.Status, resp.Body)
		}
		w.check("PATCH user remove groups")
	})
}

func TestGroupsE2EMembersProjection(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		alice, bob := w.createUser("alice"), w.createUser("bob")
		admins := w.createGroup("Admins", alice, bob)
		readers := w.createGroup("Readers", bob)
		empty := w.createGroup("Nobody")
		w.check("created")

		list := func(query string) []map[string]any {
			t.Helper()
			m := gWant(t, w.do("GET", "/Groups?"+query, nil), http.StatusOK, "GET /Groups?"+query)
			res, _ := m["Resources"].([]any)
			var out []map[string]any
			for _, r := range res {
				out = append(out, r.(map[string]any))
			}
			if fmt.Sprint(m["totalResults"]) != "3" {
				t.Fatalf("GET /Groups?%s: totalResults %v", query, m["totalResults"])
			}
			return out
		}
		for _, q := range []string{"excludedAttributes=members", "excludedAttributes=members&startIndex=1&count=100", "excludedAttributes=Members,externalId", "attributes=displayName"} {
			groups := list(q)
			if len(groups) != 3 {
				t.Fatalf("%s: %d groups", q, len(groups))
			}
			for _, g := range groups {
				if _, ok := g["members"]; ok {
					t.Fatalf("GET /Groups?%s returned members: %v", q, g)
				}
				if g["id"] == nil || g["displayName"] == nil {
					t.Fatalf("GET /Groups?%s: %v", q, g)
				}
			}
			for _, id := range []string{admins, readers, empty} {
				resp := w.do("GET", "/Groups/"+id+"?"+q, nil)
				g := gWant(t, resp, http.StatusOK, "GET group ?"+q)
				if _, ok := g["members"]; ok {
					t.Fatalf("GET /Groups/{id}?%s returned members: %s", q, resp.Body)
				}
			}
		}
		// Asked for, members come back, on a page of one too.
		for _, q := range []string{"attributes=members", "startIndex=1&count=100", "startIndex=2&count=1", "excludedAttributes=displayName"} {
			for _, g := range list(q) {
				gid, _ := g["id"].(string)
				if got, want := w.groupMembersOf(g, q), w.holders(gid); !slices.Equal(got, want) {
					t.Fatalf("GET /Groups?%s: %v has members %v, want %v", q, gid, w.userNames(got), w.userNames(want))
				}
				if _, ok := g["members"]; !ok && len(w.holders(gid)) > 0 {
					t.Fatalf("GET /Groups?%s: group %v without members", q, gid)
				}
			}
		}
		if got := list("startIndex=2&count=1"); len(got) != 1 || got[0]["id"] != readers {
			t.Fatalf("second page of one: %v", got)
		}
		// A user's roles follow the same rules.
		u := gWant(t, w.do("GET", "/Users/"+bob+"?excludedAttributes=groups", nil), http.StatusOK, "GET user excluding groups")
		if _, ok := u["groups"]; ok {
			t.Fatalf("excludedAttributes=groups returned groups: %v", u)
		}
		u = gWant(t, w.do("GET", "/Users/"+bob+"?attributes=groups", nil), http.StatusOK, "GET user groups only")
		if got := w.userGroupsOf(u, "attributes=groups"); !slices.Equal(got, sorted(admins, readers)) {
			t.Fatalf("attributes=groups: %v", w.names(got))
		}
		m := gWant(t, w.do("GET", "/Users?attributes=userName,groups&filter="+gFilter(`groups.display eq "admins"`), nil), http.StatusOK, "list by role, other case")
		if fmt.Sprint(m["totalResults"]) != "2" {
			t.Fatalf("groups.display is case-insensitive: %v", m["totalResults"])
		}
		m = gWant(t, w.do("GET", "/Users?filter="+gFilter(`groups[display eq "Readers"]`), nil), http.StatusOK, "value path on groups")
		if res, _ := m["Resources"].([]any); len(res) != 1 || res[0].(map[string]any)["id"] != bob {
			t.Fatalf("groups[display eq \"Readers\"]: %v", m)
		}
		// Queries by role: anyone with a role, the users with the empty role, a user's
		// roles from the group side.
		carol := w.createUser("carol")
		if got := w.listUserIDs(`groups pr`, "groups pr"); !slices.Equal(got, sorted(alice, bob)) {
			t.Fatalf("groups pr: %v", w.userNames(got))
		}
		if got := w.listUserIDs(`not (groups pr)`, "not groups pr"); !slices.Equal(got, []string{carol}) {
			t.Fatalf("not (groups pr): %v", w.userNames(got))
		}
		m = gWant(t, w.do("GET", "/Groups?excludedAttributes=members&filter="+gFilter(`members.value eq "`+bob+`"`), nil), http.StatusOK, "groups of bob")
		var got []string
		for _, r := range m["Resources"].([]any) {
			got = append(got, r.(map[string]any)["id"].(string))
		}
		sort.Strings(got)
		if !slices.Equal(got, sorted(admins, readers)) {
			t.Fatalf("members.value eq bob: %v", w.names(got))
		}
		w.check("after projections")
	})
}

func TestGroupsE2ETenantIsolation(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		a := gNewWorld(t, srv, "a")
		b := gNewWorld(t, srv, "b")
		alice := a.createUser("alice")
		gid := a.createGroup("Admins", alice)
		a.check("a's group")
		b.check("b sees nothing")
		e := a.groupETag(gid)

		for _, r := range []struct {
			method string
			body   any
		}{
			{"GET", nil},
			{"PUT", map[string]any{"displayName": "Stolen", "members": []any{}}},
			{"PATCH", gPatchBody(gOp("remove", "members", nil))},
			{"PATCH", gPatchBody(gOp("replace", "displayName", "Stolen"))},
			{"DELETE", nil},
		} {
			gWantError(t, b.do(r.method, "/Groups/"+gid, r.body), http.StatusNotFound, "", "", "b: "+r.method+" a's group")
		}
		gWantError(t, b.do("GET", "/Users/"+alice, nil), http.StatusNotFound, "", "", "b: GET a's user")
		if found, _ := b.findGroup("Admins", ""); len(found) != 0 {
			t.Fatalf("b finds a's group: %v", found)
		}
		m := gWant(t, b.do("GET", "/Users?filter="+gFilter(`groups.value eq "`+gid+`"`), nil), http.StatusOK, "b: users holding a's role")
		if fmt.Sprint(m["totalResults"]) != "0" {
			t.Fatalf("b sees holders of a's role: %v", m)
		}
		b.check("b after its attempts")
		if a.groupETag(gid) != e {
			t.Fatalf("b's attempts changed a's group")
		}
		a.check("a after b's attempts")

		// b's own Admins is another role, invisible to a.
		bob := b.createUser("bob")
		bg := b.createGroup("Admins", bob)
		b.check("b's Admins")
		a.check("a after b's Admins")
		gWantError(t, a.do("GET", "/Groups/"+bg, nil), http.StatusNotFound, "", "", "a: GET b's group")

		// A revoked credential no longer reaches the tenant's groups.
		if err := srv.Store.RevokeCredential(context.Background(), b.tn.Issued.Credential.ID); err != nil {
			t.Fatal(err)
		}
		gWantError(t, b.do("GET", "/Groups/"+bg, nil), http.StatusUnauthorized, "", "", "revoked credential")
		a.check("a after b's revocation")
	})
}

// Sanity: the model check must be able to fail (a broken assertion helper would make
// every test above pass vacuously).
func TestGroupsE2ECheckDetectsDivergence(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		alice := w.createUser("alice")
		gid := w.createGroup("Admins", alice)
		w.check("created")
		for _, tc := range []struct {
			name  string
			model func(w *gWorld)
		}{
			{"missing member", func(w *gWorld) { w.set(gid, "Admins") }},
			{"wrong name", func(w *gWorld) { w.set(gid, "admins", alice) }},
			{"group not deleted", func(w *gWorld) { w.drop(gid) }},
		} {
			fake := &gFakeT{}
			copyW := *w
			copyW.t = fake
			copyW.groups = map[string]*gGroup{gid: {name: "Admins", members: []string{alice}}}
			tc.model(&copyW)
			done := make(chan struct{})
			go func() { // Fatalf on the fake ends this goroutine
				defer close(done)
				copyW.check(tc.name)
			}()
			<-done
			if !fake.failed {
				t.Errorf("check did not detect %s", tc.name)
			}
		}
	})
}

// gFakeT records failures instead of failing the test.
type gFakeT struct{ failed bool }

func (f *gFakeT) Helper()               {}
func (f *gFakeT) Errorf(string, ...any) { f.failed = true }
func (f *gFakeT) Fatalf(string, ...any) { f.failed = true; runtime.Goexit() }

// Concurrent membership changes to one group are all applied: none is lost to a
// read-modify-write race.
func TestGroupsE2EConcurrentMembership(t *testing.T) {
	gBackends(t, func(t *testing.T, srv *storetest.Server) {
		w := gNewWorld(t, srv, "acme")
		var users []string
		for i := 0; i < 24; i++ {
			users = append(users, w.createUser(fmt.Sprintf("user%02d", i)))
		}
		// The first half start as members and are removed; the second half are added.
		admins := w.createGroup("Admins", users[:12]...)
		readers := w.createGroup("Readers")
		w.check("created")
		errs := make(chan error, 2*len(users))
		var wg sync.WaitGroup
		for i, uid := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var admOp map[string]any
				if i < 12 {
					admOp = gOp("remove", `members[value eq "`+uid+`"]`, nil)
				} else {
					admOp = gOp("add", "members", []any{map[string]any{"value": uid}})
				}
				for _, r := range []struct {
					gid string
					op  map[string]any
				}{{admins, admOp}, {readers, gOp("Add", "members", []any{map[string]any{"value": uid}})}} {
					resp, err := w.c.Do(context.Background(), "PATCH", "/Groups/"+r.gid, gPatchBody(r.op))
					if err == nil && resp.Status != http.StatusNoContent {
						err = fmt.Errorf("PATCH %s: %d %s", r.op["op"], resp.Status, resp.Body)
					}
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		w.set(admins, "Admins", users[12:]...)
		w.set(readers, "Readers", users...)
		w.check("after concurrent changes")
	})
}
