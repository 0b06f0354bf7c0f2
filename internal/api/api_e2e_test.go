package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

// env is a real scimd (SCIM and management API) over one backend, with an all-tenants
// admin client whose every exchange is checked against openapi.yaml.
type env struct {
	t     *testing.T
	full  *storetest.Full
	tr    *transport
	admin *sdk.Client
}

func newEnv(t *testing.T, b storetest.Backend, spec *specValidator) *env {
	st := b.Open(t)
	full := storetest.StartFull(t, st, server.Options{UsageInterval: time.Hour})
	tr := &transport{t: t, spec: spec}
	e := &env{t: t, full: full, tr: tr}
	e.admin = e.client(full.APIKey(t, "", "admin"))
	return e
}

func (e *env) client(key string) *sdk.Client {
	return sdk.New(e.full.Root, key, sdk.WithHTTPClient(&http.Client{Transport: e.tr}), sdk.WithRetries(0, 0))
}

// raw sends a request to the management API through the validating transport.
func (e *env) raw(method, path, key, contentType, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.full.Root+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if path == "/nowhere" || method == "PUT" || (method == "DELETE" && path == "/tenants") {
		req.Header.Set(outsideSpec, "1")
	}
	resp, err := (&http.Client{Transport: e.tr}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// scim is an identity provider's client of a tenant, authenticating with Basic as Okta's
// catalog apps do.
func (e *env) scim(user, password string) *scimclient.Client {
	c := scimclient.New(e.full.URL, "")
	c.Authorization = scimclient.Basic(user, password)
	return c
}

func oktaHeader() http.Header {
	return http.Header{"User-Agent": {"Okta SCIM Client 1.0.0"}}
}

func send(t *testing.T, c *scimclient.Client, method, path string, body any) *scimclient.Response {
	t.Helper()
	resp, err := c.Send(context.Background(), scimclient.Request{Method: method, Path: path, Body: body, Header: oktaHeader()})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func wantStatus(t *testing.T, resp *scimclient.Response, want int, what string) map[string]any {
	t.Helper()
	if resp.Status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, resp.Status, want, resp.Body)
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

func wantProblem(t *testing.T, err error, status int, field string) {
	t.Helper()
	var e *sdk.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a %d problem, got %v", status, err)
	}
	if e.Status != status || e.Field != field || e.Detail == "" || !strings.HasPrefix(e.Type, "https://") || e.Title == "" {
		t.Fatalf("want a %d problem naming field %q, got %+v", status, field, e)
	}
}

// oktaUser is the body Okta's catalog apps send to create a user (idp-dialects §1.3).
func oktaUser(userName, given, family string) map[string]any {
	return map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":    userName,
		"name":        map[string]any{"givenName": given, "familyName": family},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": given + " " + family,
		"locale":      "en-US",
		"externalId":  "00u" + strings.ReplaceAll(userName, "@", ""),
		"groups":      []any{},
		"password":    "Placeholder-1!",
		"active":      true,
	}
}

// TestOnboardProvisionRead onboards a tenant through the API, provisions it as Okta does
// over SCIM, and reads it back through the directory with its roles.
func TestOnboardProvisionRead(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()

			tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "acme", ExternalRef: "cus_1"})
			if err != nil {
				t.Fatal(err)
			}
			if tenant.ID == "" || tenant.Name != "acme" || tenant.ExternalRef == nil || *tenant.ExternalRef != "cus_1" || tenant.Disabled {
				t.Fatalf("created tenant %+v", tenant)
			}
			_, err = e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "acme"})
			wantProblem(t, err, http.StatusConflict, "name")
			_, err = e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "other", ExternalRef: "cus_1"})
			wantProblem(t, err, http.StatusConflict, "external_ref")
			found, err := e.admin.TenantByExternalRef(ctx, "cus_1")
			if err != nil || found.ID != tenant.ID {
				t.Fatalf("tenant by external reference: %+v, %v", found, err)
			}
			if _, err := e.admin.TenantByExternalRef(ctx, "cus_404"); !sdk.IsNotFound(err) {
				t.Fatalf("unknown external reference: %v", err)
			}

			conn, err := e.admin.Connection(ctx, tenant.ID)
			if err != nil || conn.Credential != nil || !strings.HasSuffix(conn.SCIMBaseURL, "/scim/v2") || conn.UniqueIdentifierField == "" {
				t.Fatalf("connection before a credential: %+v, %v", conn, err)
			}
			cred, err := e.admin.MintCredential(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cred.Username != cred.ID || cred.Password == "" || cred.Bearer != cred.ID+"."+cred.Password || cred.SCIMBaseURL != e.full.URL {
				t.Fatalf("minted credential %+v (SCIM at %s)", cred, e.full.URL)
			}
			conn, err = e.admin.Connection(ctx, tenant.ID)
			if err != nil || conn.Credential == nil || conn.Credential.Username != cred.Username {
				t.Fatalf("connection after minting: %+v, %v", conn, err)
			}

			// Okta: test connector, groups on save, uniqueness check, creates, group push.
			idp := e.scim(cred.Username, cred.Password)
			wantStatus(t, send(t, idp, "GET", "/Users?startIndex=1&count=2", nil), 200, "connector test")
			wantStatus(t, send(t, idp, "GET", "/Groups?startIndex=1&count=100", nil), 200, "groups on save")
			users := map[string]string{}
			for _, n := range []struct{ user, given, family string }{
				{"ada@acme.example", "Ada", "Lovelace"}, {"grace@acme.example", "Grace", "Hopper"}, {"alan@acme.example", "Alan", "Turing"},
			} {
				wantStatus(t, send(t, idp, "GET", `/Users?filter=userName%20eq%20%22`+n.user+`%22&startIndex=1&count=100`, nil), 200, "uniqueness check")
				m := wantStatus(t, send(t, idp, "POST", "/Users", oktaUser(n.user, n.given, n.family)), 201, "create "+n.user)
				users[n.user] = m["id"].(string)
			}
			admins := wantStatus(t, send(t, idp, "POST", "/Groups", map[string]any{
				"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Admins",
				"members": []any{map[string]any{"value": users["ada@acme.example"], "display": "ada@acme.example"}},
			}), 201, "push group")
			adminsID := admins["id"].(string)
			wantStatus(t, send(t, idp, "PATCH", "/Groups/"+adminsID, map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": users["grace@acme.example"]}}}},
			}), 204, "add member")
			wantStatus(t, send(t, idp, "PATCH", "/Users/"+users["alan@acme.example"], map[string]any{
				"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
				"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}},
			}), 200, "deactivate")

			// The directory.
			var all []sdk.User
			for u, err := range e.admin.Users(ctx, tenant.ID, sdk.UserListOptions{ListOptions: sdk.ListOptions{Limit: 2}}) {
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, u)
			}
			if len(all) != 3 || all[0].UserName != "ada@acme.example" || all[1].UserName != "grace@acme.example" || all[2].UserName != "alan@acme.example" {
				t.Fatalf("directory users in creation order: %+v", all)
			}
			ada := all[0]
			if ada.Email != "ada@acme.example" || ada.GivenName != "Ada" || ada.FamilyName != "Lovelace" || ada.DisplayName != "Ada Lovelace" ||
				!ada.Active || !slices.Equal(ada.Roles, []string{"Admins"}) || len(ada.Groups) != 1 || ada.Groups[0].ID != adminsID ||
				ada.ExternalID != "00uadaacme.example" || ada.Created.IsZero() || ada.Updated.IsZero() {
				t.Fatalf("ada in the directory: %+v", ada)
			}
			if all[2].Active || len(all[2].Roles) != 0 {
				t.Fatalf("alan, deactivated and in no group, holds the empty role: %+v", all[2])
			}
			got, err := e.admin.GetUser(ctx, tenant.ID, users["grace@acme.example"])
			if err != nil || !slices.Equal(got.Roles, []string{"Admins"}) {
				t.Fatalf("grace by id: %+v, %v", got, err)
			}
			f := false
			for _, c := range []struct {
				name string
				opts sdk.UserListOptions
				want []string
			}{
				{"email, any case", sdk.UserListOptions{Email: "GRACE@acme.example"}, []string{"grace@acme.example"}},
				{"user name", sdk.UserListOptions{UserName: "alan@acme.example"}, []string{"alan@acme.example"}},
				{"external id", sdk.UserListOptions{ExternalID: "00uadaacme.example"}, []string{"ada@acme.example"}},
				{"role", sdk.UserListOptions{Role: "admins"}, []string{"ada@acme.example", "grace@acme.example"}},
				{"group", sdk.UserListOptions{Group: adminsID}, []string{"ada@acme.example", "grace@acme.example"}},
				{"inactive", sdk.UserListOptions{Active: &f}, []string{"alan@acme.example"}},
				{"updated since the deactivation", sdk.UserListOptions{UpdatedSince: all[2].Updated}, []string{"alan@acme.example"}},
				{"role and active", sdk.UserListOptions{Role: "Admins", Active: &f}, nil},
				{"unknown e-mail", sdk.UserListOptions{Email: "nobody@acme.example"}, nil},
			} {
				p, err := e.admin.ListUsers(ctx, tenant.ID, c.opts)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				var names []string
				for _, u := range p.Data {
					names = append(names, u.UserName)
				}
				if !slices.Equal(names, c.want) || p.Next != nil {
					t.Errorf("%s: %v (next %v), want %v", c.name, names, p.Next, c.want)
				}
			}
			roles, err := e.admin.ListRoles(ctx, tenant.ID, sdk.ListOptions{})
			if err != nil || len(roles.Data) != 1 || roles.Data[0].Name != "Admins" || roles.Data[0].MemberCount != 2 {
				t.Fatalf("roles: %+v, %v", roles, err)
			}
			var members []string
			for u, err := range e.admin.RoleMembers(ctx, tenant.ID, adminsID) {
				if err != nil {
					t.Fatal(err)
				}
				members = append(members, u.UserName)
			}
			if !slices.Equal(members, []string{"ada@acme.example", "grace@acme.example"}) {
				t.Fatalf("role members: %v", members)
			}

			// Unlinking the group in Okta deletes it: its members lose the role.
			wantStatus(t, send(t, idp, "DELETE", "/Groups/"+adminsID, nil), 204, "unlink group")
			got, err = e.admin.GetUser(ctx, tenant.ID, users["ada@acme.example"])
			if err != nil || len(got.Roles) != 0 {
				t.Fatalf("ada after the unlink: %+v, %v", got, err)
			}
			if _, err := e.admin.ListRoleMembers(ctx, tenant.ID, adminsID, sdk.ListOptions{}); !sdk.IsNotFound(err) {
				t.Fatalf("members of a deleted role: %v", err)
			}

			// The credential's use is recorded, with the identity provider that used it.
			if err := e.full.Handler.Close(ctx); err != nil {
				t.Fatal(err)
			}
			creds, err := e.admin.ListCredentials(ctx, tenant.ID)
			if err != nil || len(creds) != 1 || creds[0].LastUsedAt == nil || creds[0].LastClient == nil || *creds[0].LastClient != "okta" {
				t.Fatalf("credentials after use: %+v, %v", creds, err)
			}
			if e.tr.checked == 0 {
				t.Fatal("no exchange was validated against openapi.yaml")
			}
		})
	}
}

// TestDirectoryPaging pages through more users than a page holds while users are created
// and deleted, and sees each user that stayed exactly once, in creation order.
func TestDirectoryPaging(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()
			tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "paging"})
			if err != nil {
				t.Fatal(err)
			}
			cred, err := e.admin.MintCredential(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			idp := e.scim(cred.Username, cred.Password)
			var ids []string
			for i := range 25 {
				m := wantStatus(t, send(t, idp, "POST", "/Users", oktaUser(fmt.Sprintf("u%02d@x.example", i), "U", fmt.Sprint(i))), 201, "create")
				ids = append(ids, m["id"].(string))
			}
			var seen []string
			cursor := ""
			for page := 0; ; page++ {
				p, err := e.admin.ListUsers(ctx, tenant.ID, sdk.UserListOptions{ListOptions: sdk.ListOptions{Cursor: cursor, Limit: 10}})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range p.Data {
					seen = append(seen, u.ID)
				}
				if page == 0 {
					// Between pages: one user read already and one not yet read leave, one arrives.
					wantStatus(t, send(t, idp, "DELETE", "/Users/"+ids[0], nil), 204, "delete read")
					wantStatus(t, send(t, idp, "DELETE", "/Users/"+ids[20], nil), 204, "delete unread")
					m := wantStatus(t, send(t, idp, "POST", "/Users", oktaUser("late@x.example", "L", "ate")), 201, "create late")
					ids = append(ids, m["id"].(string))
				}
				if p.Next == nil {
					break
				}
				cursor = *p.Next
			}
			want := append(slices.Clone(ids[:20]), ids[21:]...)
			if !slices.Equal(seen, want) {
				t.Fatalf("paged %d users %v, want %d %v", len(seen), seen, len(want), want)
			}
			// A role's members page from the membership in order: a member removed before it is
			// read is not seen, one added after the reader's position is.
			members := []any{}
			for i, id := range ids[:24] {
				if i != 0 && i != 20 { // deleted above
					members = append(members, map[string]any{"value": id})
				}
			}
			group := wantStatus(t, send(t, idp, "POST", "/Groups", map[string]any{"displayName": "Readers", "members": members}), 201, "group")["id"].(string)
			var seenMembers []string
			cursor = ""
			for page := 0; ; page++ {
				p, err := e.admin.ListUsers(ctx, tenant.ID, sdk.UserListOptions{Role: "readers", ListOptions: sdk.ListOptions{Cursor: cursor, Limit: 7}})
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range p.Data {
					seenMembers = append(seenMembers, u.ID)
				}
				if page == 0 {
					wantStatus(t, send(t, idp, "PATCH", "/Groups/"+group, map[string]any{
						"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
						"Operations": []any{
							map[string]any{"op": "remove", "path": `members[value eq "` + ids[1] + `"]`},
							map[string]any{"op": "remove", "path": `members[value eq "` + ids[10] + `"]`},
							map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": ids[len(ids)-1]}}},
						},
					}), 204, "change members")
				}
				if p.Next == nil {
					break
				}
				cursor = *p.Next
			}
			// ids[0] and ids[20] were deleted above; ids[1] was read before its removal.
			var wantMembers []string
			for i, id := range ids[:24] {
				if i != 0 && i != 10 && i != 20 {
					wantMembers = append(wantMembers, id)
				}
			}
			wantMembers = append(wantMembers, ids[len(ids)-1])
			if !slices.Equal(seenMembers, wantMembers) {
				t.Fatalf("paged role members %v, want %v", seenMembers, wantMembers)
			}
			var viaRole []string
			for u, err := range e.admin.RoleMembers(ctx, tenant.ID, group) {
				if err != nil {
					t.Fatal(err)
				}
				viaRole = append(viaRole, u.ID)
			}
			if want := slices.DeleteFunc(slices.Clone(wantMembers), func(id string) bool { return id == ids[1] }); !slices.Equal(viaRole, want) {
				t.Fatalf("role members %v, want %v", viaRole, want)
			}

			_, err = e.admin.ListUsers(ctx, tenant.ID, sdk.UserListOptions{ListOptions: sdk.ListOptions{Cursor: "not-a-cursor"}})
			wantProblem(t, err, http.StatusBadRequest, "cursor")
			// A cursor belongs to its query: reusing it with another filter is refused.
			p, err := e.admin.ListUsers(ctx, tenant.ID, sdk.UserListOptions{ListOptions: sdk.ListOptions{Limit: 5}})
			if err != nil || p.Next == nil {
				t.Fatalf("first page: %+v, %v", p, err)
			}
			_, err = e.admin.ListUsers(ctx, tenant.ID, sdk.UserListOptions{Email: "u01@x.example", ListOptions: sdk.ListOptions{Cursor: *p.Next}})
			wantProblem(t, err, http.StatusBadRequest, "cursor")
		})
	}
}

// TestCredentialRotationOverlap: after a rotation both secrets work until the overlap
// ends, then only the new one; the user name never changes.
func TestCredentialRotationOverlap(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()
			tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "rotating"})
			if err != nil {
				t.Fatal(err)
			}
			first, err := e.admin.MintCredential(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			works := func(password string) bool {
				t.Helper()
				return send(t, e.scim(first.Username, password), "GET", "/Users?count=1", nil).Status == 200
			}
			bearerWorks := func(bearer string) bool {
				t.Helper()
				return send(t, scimclient.New(e.full.URL, bearer), "GET", "/Users?count=1", nil).Status == 200
			}
			second, err := e.admin.RotateCredential(ctx, tenant.ID, first.ID, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if second.ID != first.ID || second.Username != first.Username || second.Password == first.Password ||
				second.PreviousSecretExpiresAt == nil || second.RotatedAt == nil {
				t.Fatalf("rotated credential %+v after %+v", second, first)
			}
			if !works(first.Password) || !works(second.Password) || !bearerWorks(first.Bearer) || !bearerWorks(second.Bearer) {
				t.Fatal("during the overlap both secrets must work")
			}
			time.Sleep(time.Until(*second.PreviousSecretExpiresAt) + 100*time.Millisecond)
			if works(first.Password) || bearerWorks(first.Bearer) || !works(second.Password) {
				t.Fatal("after the overlap only the new secret may work")
			}
			// Overlap 0 ends the old secret at once.
			third, err := e.admin.RotateCredential(ctx, tenant.ID, first.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if works(second.Password) || !works(third.Password) || third.PreviousSecretExpiresAt != nil {
				t.Fatalf("rotation without overlap: %+v", third)
			}
			code, body := e.raw("POST", "/tenants/"+tenant.ID+"/credentials/"+first.ID+"/rotate", e.full.APIKey(t, "", "admin"), "application/json", `{"overlap_seconds": -1}`)
			if code != 400 || !strings.Contains(body, `"field":"overlap_seconds"`) {
				t.Fatalf("negative overlap: %d %s", code, body)
			}
			// Revocation is immediate; a revoked credential cannot be rotated back to life.
			if err := e.admin.RevokeCredential(ctx, tenant.ID, first.ID); err != nil {
				t.Fatal(err)
			}
			if works(third.Password) {
				t.Fatal("a revoked credential still works")
			}
			_, err = e.admin.RotateCredential(ctx, tenant.ID, first.ID, time.Hour)
			wantProblem(t, err, http.StatusConflict, "")
		})
	}
}

// TestDisableEnableDelete: a disabled tenant's credentials are refused at once and its data
// kept; a deleted tenant is gone with everything in it.
func TestDisableEnableDelete(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()
			tenant, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "fickle", ExternalRef: "cus_9"})
			if err != nil {
				t.Fatal(err)
			}
			cred, err := e.admin.MintCredential(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			idp := e.scim(cred.Username, cred.Password)
			wantStatus(t, send(t, idp, "POST", "/Users", oktaUser("kept@x.example", "K", "Ept")), 201, "create")
			d, err := e.admin.DisableTenant(ctx, tenant.ID)
			if err != nil || !d.Disabled || d.DisabledAt == nil {
				t.Fatalf("disable: %+v, %v", d, err)
			}
			wantStatus(t, send(t, idp, "GET", "/Users", nil), 401, "SCIM while disabled")
			if p, err := e.admin.ListUsers(ctx, tenant.ID, sdk.UserListOptions{}); err != nil || len(p.Data) != 1 {
				t.Fatalf("a disabled tenant's data is kept: %+v, %v", p, err)
			}
			if en, err := e.admin.EnableTenant(ctx, tenant.ID); err != nil || en.Disabled || en.DisabledAt != nil {
				t.Fatalf("enable: %+v, %v", en, err)
			}
			wantStatus(t, send(t, idp, "GET", "/Users", nil), 200, "SCIM after enabling")

			newName, noRef := "steady", ""
			u, err := e.admin.UpdateTenant(ctx, tenant.ID, sdk.TenantUpdate{Name: &newName, ExternalRef: &noRef})
			if err != nil || u.Name != "steady" || u.ExternalRef != nil || !u.Updated.After(tenant.Updated) {
				t.Fatalf("update: %+v, %v", u, err)
			}

			code, body := e.raw("DELETE", "/tenants/"+tenant.ID, e.full.APIKey(t, "", "admin"), "", "")
			if code != 400 || !strings.Contains(body, `"field":"confirm"`) {
				t.Fatalf("delete without confirm: %d %s", code, body)
			}
			code, _ = e.raw("DELETE", "/tenants/"+tenant.ID+"?confirm=fickle", e.full.APIKey(t, "", "admin"), "", "")
			if code != 400 {
				t.Fatalf("delete confirming an old name: %d", code)
			}
			if err := e.admin.DeleteTenant(ctx, tenant.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.admin.GetTenant(ctx, tenant.ID); !sdk.IsNotFound(err) {
				t.Fatalf("deleted tenant: %v", err)
			}
			wantStatus(t, send(t, idp, "GET", "/Users", nil), 401, "SCIM after delete")
			// Its name and reference are free again, and the new tenant starts empty.
			again, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "steady"})
			if err != nil {
				t.Fatal(err)
			}
			if p, err := e.admin.ListUsers(ctx, again.ID, sdk.UserListOptions{}); err != nil || len(p.Data) != 0 {
				t.Fatalf("a new tenant sees no data of a deleted one: %+v, %v", p, err)
			}
		})
	}
}

// TestKeyScopes: read keys change nothing, tenant keys reach nothing of another tenant
// (on every endpoint, guessing ids included), and bad keys get 401.
func TestKeyScopes(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			ctx := context.Background()
			mine, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "mine"})
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := e.admin.CreateTenant(ctx, sdk.TenantCreate{Name: "theirs"})
			if err != nil {
				t.Fatal(err)
			}
			theirCred, err := e.admin.MintCredential(ctx, theirs.ID)
			if err != nil {
				t.Fatal(err)
			}
			idp := e.scim(theirCred.Username, theirCred.Password)
			theirUser := wantStatus(t, send(t, idp, "POST", "/Users", oktaUser("secret@theirs.example", "S", "Ecret")), 201, "create")["id"].(string)
			theirGroup := wantStatus(t, send(t, idp, "POST", "/Groups", map[string]any{"displayName": "Theirs",
				"members": []any{map[string]any{"value": theirUser}}}), 201, "group")["id"].(string)

			read := e.full.APIKey(t, "", "read")
			scoped := e.full.APIKey(t, mine.ID, "admin")
			scopedRead := e.full.APIKey(t, mine.ID, "read")

			// Every endpoint of another tenant answers 404 to a tenant-scoped key, exactly as a
			// tenant that does not exist does; ids of the other tenant's resources under one's
			// own tenant are not found either.
			for _, path := range []string{"/tenants/%s", "/tenants/%s/connection", "/tenants/%s/credentials", "/tenants/%s/users",
				"/tenants/%s/users/" + theirUser, "/tenants/%s/roles", "/tenants/%s/roles/" + theirGroup + "/members"} {
				for _, key := range []string{scoped, scopedRead} {
					code, body := e.raw("GET", fmt.Sprintf(path, theirs.ID), key, "", "")
					codeMissing, _ := e.raw("GET", fmt.Sprintf(path, "no-such-tenant"), e.full.APIKey(t, "", "admin"), "", "")
					if code != 404 || codeMissing != 404 || strings.Contains(body, "secret@") {
						t.Errorf("GET %s with a key of another tenant: %d %s (missing tenant: %d)", path, code, body, codeMissing)
					}
				}
				code, body := e.raw("GET", fmt.Sprintf(path, mine.ID), scoped, "", "")
				if strings.Contains(path, theirUser) || strings.Contains(path, theirGroup) {
					if code != 404 {
						t.Errorf("GET %s of the other tenant's id under one's own tenant: %d %s", path, code, body)
					}
				} else if code != 200 {
					t.Errorf("GET %s of one's own tenant: %d %s", path, code, body)
				}
			}
			for _, c := range []struct{ method, path, body string }{
				{"PATCH", "/tenants/%s", `{"name":"pwned"}`},
				{"DELETE", "/tenants/%s?confirm=%[1]s", ""},
				{"POST", "/tenants/%s/disable", ""},
				{"POST", "/tenants/%s/enable", ""},
				{"POST", "/tenants/%s/credentials", ""},
				{"POST", "/tenants/%s/credentials/" + theirCred.ID + "/rotate", "{}"},
				{"DELETE", "/tenants/%s/credentials/" + theirCred.ID, ""},
			} {
				code, _ := e.raw(c.method, fmt.Sprintf(c.path, theirs.ID), scoped, "application/json", c.body)
				if code != 404 {
					t.Errorf("%s %s with a key of another tenant: %d, want 404", c.method, c.path, code)
				}
				// The other tenant's credential id under one's own tenant is not found either.
				if strings.Contains(c.path, theirCred.ID) {
					code, _ := e.raw(c.method, fmt.Sprintf(c.path, mine.ID), scoped, "application/json", c.body)
					if code != 404 {
						t.Errorf("%s %s: another tenant's credential under one's own: %d, want 404", c.method, c.path, code)
					}
				}
			}
			if send(t, idp, "GET", "/Users", nil).Status != 200 {
				t.Fatal("the other tenant's credential must still work")
			}
			if tn, err := e.admin.GetTenant(ctx, theirs.ID); err != nil || tn.Name != "theirs" || tn.Disabled {
				t.Fatalf("the other tenant must be unchanged: %+v, %v", tn, err)
			}

			// A tenant-scoped key lists only its tenant and cannot create or delete tenants.
			sc := e.client(scoped)
			p, err := sc.ListTenants(ctx, sdk.TenantListOptions{})
			if err != nil || len(p.Data) != 1 || p.Data[0].ID != mine.ID {
				t.Fatalf("tenants seen by a scoped key: %+v, %v", p, err)
			}
			if p, err := sc.ListTenants(ctx, sdk.TenantListOptions{Name: "theirs"}); err != nil || len(p.Data) != 0 {
				t.Fatalf("a scoped key looking another tenant up by name: %+v, %v", p, err)
			}
			_, err = sc.CreateTenant(ctx, sdk.TenantCreate{Name: "new"})
			wantProblem(t, err, http.StatusForbidden, "")
			wantProblem(t, sc.DeleteTenant(ctx, mine.ID), http.StatusForbidden, "")
			if _, err := sc.MintCredential(ctx, mine.ID); err != nil {
				t.Fatalf("a scoped admin key mints for its tenant: %v", err)
			}

			// Read keys read and change nothing.
			rc := e.client(read)
			if p, err := rc.ListTenants(ctx, sdk.TenantListOptions{}); err != nil || len(p.Data) != 2 {
				t.Fatalf("read key lists tenants: %+v, %v", p, err)
			}
			_, err = rc.CreateTenant(ctx, sdk.TenantCreate{Name: "x"})
			wantProblem(t, err, http.StatusForbidden, "")
			_, err = rc.MintCredential(ctx, mine.ID)
			wantProblem(t, err, http.StatusForbidden, "")
			_, err = rc.DisableTenant(ctx, mine.ID)
			wantProblem(t, err, http.StatusForbidden, "")
			_, err = e.client(scopedRead).RotateCredential(ctx, mine.ID, theirCred.ID, 0)
			wantProblem(t, err, http.StatusForbidden, "")

			// Bad keys.
			for _, key := range []string{"", "nonsense", read + "x", "scimd_key_000000000000000000.abc", theirCred.Bearer} {
				code, body := e.raw("GET", "/tenants", key, "", "")
				if code != 401 || !strings.Contains(body, `"status":401`) {
					t.Errorf("key %q: %d %s", key, code, body)
				}
			}
			k, err := e.full.Handler.Service.CreateAPIKey(ctx, "", "admin", "short-lived")
			if err != nil {
				t.Fatal(err)
			}
			if err := e.full.Handler.Service.RevokeAPIKey(ctx, k.Key.ID); err != nil {
				t.Fatal(err)
			}
			if code, _ := e.raw("GET", "/tenants", k.Secret, "", ""); code != 401 {
				t.Errorf("revoked key: %d", code)
			}
		})
	}
}

// TestBadInput: each mistake is a problem document naming the field, never a 500.
func TestBadInput(t *testing.T) {
	spec := newSpecValidator(t)
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, spec)
			key := e.full.APIKey(t, "", "admin")
			tenant, err := e.admin.CreateTenant(context.Background(), sdk.TenantCreate{Name: "strict"})
			if err != nil {
				t.Fatal(err)
			}
			tp := "/tenants/" + tenant.ID
			for _, c := range []struct {
				method, path, contentType, body string
				status                          int
				field                           string
			}{
				{"POST", "/tenants", "application/json", `{"name":"a","colour":"red"}`, 400, "colour"},
				{"POST", "/tenants", "application/json", `{"name":5}`, 400, "name"},
				{"POST", "/tenants", "application/json", `{"name":""}`, 400, "name"},
				{"POST", "/tenants", "application/json", `{}`, 400, "name"},
				{"POST", "/tenants", "application/json", `{"name":"a\u0000b"}`, 400, "name"},
				{"POST", "/tenants", "application/json", `{"name":"` + strings.Repeat("n", 201) + `"}`, 400, "name"},
				{"POST", "/tenants", "application/json", `{"name":"a"`, 400, ""},
				{"POST", "/tenants", "application/json", `{"name":"a"} {"name":"b"}`, 400, ""},
				{"POST", "/tenants", "text/plain", `{"name":"a"}`, 415, ""},
				{"POST", "/tenants", "application/json", `{"name":"` + strings.Repeat("x", 70000) + `"}`, 413, ""},
				{"GET", "/tenants?limit=0", "", "", 400, "limit"},
				{"GET", "/tenants?limit=abc", "", "", 400, "limit"},
				{"GET", "/tenants?cursor=%%%", "", "", 400, ""},
				{"GET", "/tenants?colour=red", "", "", 400, "colour"},
				{"GET", tp + "/users?emial=a@b.c", "", "", 400, "emial"},
				{"GET", tp + "/users?active=yes", "", "", 400, "active"},
				{"GET", tp + "/users?updated_since=yesterday", "", "", 400, "updated_since"},
				{"GET", tp + "/users?limit=201", "", "", 400, "limit"},
				{"GET", tp + "/users?email=a&email=b", "", "", 400, "email"},
				{"GET", tp + "/users/nope", "", "", 404, ""},
				{"GET", tp + "/roles/nope/members", "", "", 404, ""},
				{"GET", "/tenants/nope/users", "", "", 404, ""},
				{"POST", tp + "/credentials/nope/rotate", "application/json", `{}`, 404, ""},
				{"POST", tp + "/credentials/x/rotate", "application/json", `{"overlap_seconds":"1"}`, 400, "overlap_seconds"},
				{"PATCH", tp, "application/json", `{"name":"strict","id":"other"}`, 400, "id"},
				{"GET", "/nowhere", "", "", 404, ""},
				{"PUT", tp, "application/json", `{"name":"x"}`, 405, ""},
				{"DELETE", "/tenants", "", "", 405, ""},
			} {
				code, body := e.raw(c.method, c.path, key, c.contentType, c.body)
				if code != c.status {
					t.Errorf("%s %s %s: %d, want %d: %s", c.method, c.path, truncate([]byte(c.body)), code, c.status, body)
					continue
				}
				if !strings.Contains(body, `"detail":`) || !strings.Contains(body, `"type":"https://`) {
					t.Errorf("%s %s: not a problem document: %s", c.method, c.path, body)
				}
				if c.field != "" && !strings.Contains(body, `"field":"`+c.field+`"`) {
					t.Errorf("%s %s: problem does not name field %q: %s", c.method, c.path, c.field, body)
				}
			}
			code, body := e.raw("GET", "/openapi.yaml", "", "", "")
			if code != 200 || !strings.HasPrefix(body, "openapi: 3.1") {
				t.Fatalf("openapi.yaml: %d %.40s", code, body)
			}
		})
	}
}
