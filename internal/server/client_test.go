package server_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/flows"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/storetest"
)

// TestIdentityProviderByShape, on both stores: with Go's generic User-Agent, the identity
// provider is recognised from the shape of a request's URL or body, and remembered for
// its credential, so that later requests of no telling shape (a create, a GET by id) are
// filed under it in the activity log; a newer recognition replaces an older one; each
// credential has its own; and after a restart the store's last-used client of the
// credential carries it on.
func TestIdentityProviderByShape(t *testing.T) {
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			st := be.Open(t)
			opts := server.Options{UsageInterval: time.Hour, Logger: discardLogger()}
			full := storetest.StartFull(t, st, opts)
			entra, plain := full.NewTenant(t, "entra-by-url"), full.NewTenant(t, "by-body")
			send := func(c *scimclient.Client, method, path string, body any, want int) string {
				t.Helper()
				resp, err := c.Do(ctx, method, path, body)
				if err != nil || resp.Status != want {
					t.Fatalf("%s %s: %v %v", method, path, resp, err)
				}
				m, _ := resp.JSON()
				id, _ := m["id"].(string)
				return id
			}
			user := func(name string) map[string]any {
				return map[string]any{"schemas": []string{scim.UserSchema}, "userName": name}
			}
			patch := func(ops ...map[string]any) map[string]any {
				list := make([]any, len(ops))
				for i, o := range ops {
					list[i] = o
				}
				return map[string]any{"schemas": []string{scim.PatchOpSchema}, "Operations": list}
			}
			clients := func(srv *storetest.Full, tenantID string) []string {
				t.Helper()
				if err := srv.Handler.Activity.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				page, err := srv.Handler.Service.Activity(ctx, tenantID, service.ActivityQuery{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, e := range slices.Backward(page.Entries) {
					out = append(out, e.Client)
				}
				return out
			}

			// Entra's matching filter, then requests any client sends.
			send(entra.Client, "GET", "/Users?filter="+url.QueryEscape(`externalId eq "0a21f0f2"`), nil, 200)
			id := send(entra.Client, "POST", "/Users", user("ada@example.com"), 201)
			send(entra.Client, "GET", "/Users/"+id, nil, 200)
			if got, want := clients(full, entra.ID), []string{"entra", "entra", "entra"}; !slices.Equal(got, want) {
				t.Fatalf("entra-by-url: clients %v, want %v", got, want)
			}

			// Nothing telling, then Entra's capitalised op, then Okta's deactivation.
			id = send(plain.Client, "POST", "/Users", user("grace@example.com"), 201)
			send(plain.Client, "PATCH", "/Users/"+id, patch(map[string]any{"op": "Replace", "path": "displayName", "value": "Grace"}), 200)
			send(plain.Client, "GET", "/Users/"+id, nil, 200)
			send(plain.Client, "PATCH", "/Users/"+id, patch(map[string]any{"op": "replace", "value": map[string]any{"active": false}}), 200)
			send(plain.Client, "GET", "/Users/"+id, nil, 200)
			if got, want := clients(full, plain.ID), []string{"other", "entra", "entra", "okta", "okta"}; !slices.Equal(got, want) {
				t.Fatalf("by-body: clients %v, want %v", got, want)
			}

			// A restart: the memory is gone, the store's last-used client is not.
			if err := full.Handler.Close(ctx); err != nil {
				t.Fatal(err)
			}
			// The store reuses a credential it read for a second (credentialTTL).
			time.Sleep(1100 * time.Millisecond)
			again := storetest.StartFull(t, st, opts)
			for _, c := range []*scimclient.Client{entra.Client, plain.Client} {
				c.BaseURL = again.URL
			}
			send(entra.Client, "GET", "/Users?count=1", nil, 200)
			send(plain.Client, "GET", "/Users?count=1", nil, 200)
			if got := clients(again, entra.ID); got[len(got)-1] != "entra" {
				t.Fatalf("entra-by-url after a restart: clients %v", got)
			}
			if got := clients(again, plain.ID); got[len(got)-1] != "okta" {
				t.Fatalf("by-body after a restart: clients %v", got)
			}
		})
	}
}

// TestIdentityProviderOfEachFlow replays every recorded identity-provider flow with its
// User-Agent taken out, each in a tenant of its own, and reads the activity log: Entra
// ID's flows are recognised as Entra's from their shapes and Okta's as Okta's, from their
// first telling request on (a request before it is "other", none is another provider's);
// the flows of JumpCloud, OneLogin and Google Workspace, which no published capture gives
// a shape of their own, are "other" throughout rather than mistaken for another provider.
func TestIdentityProviderOfEachFlow(t *testing.T) {
	all, err := flows.Load()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	full := storetest.StartFull(t, storetest.OpenSQLite(t), server.Options{UsageInterval: time.Hour, Logger: discardLogger()})
	want := map[string]string{"entra": "entra", "entra-aadOptscim062020": "entra", "okta-catalog": "okta", "okta-wizard": "okta",
		"jumpcloud": "other", "onelogin": "other", "google": "other"}
	for _, f := range all {
		t.Run(f.Name, func(t *testing.T) {
			idp, ok := want[f.Name]
			if !ok {
				t.Fatalf("flow %s: which identity provider sends it?", f.Name)
			}
			delete(f.Headers, "User-Agent")
			for i := range f.Steps {
				delete(f.Steps[i].Headers, "User-Agent")
			}
			tn := full.NewTenant(t, f.Name)
			flows.Run(ctx, tn.Client, f)
			if err := full.Handler.Activity.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			page, err := full.Handler.Service.Activity(ctx, tn.ID, service.ActivityQuery{Limit: service.MaxPageSize})
			if err != nil || page.Next != "" {
				t.Fatalf("activity: %v (more than a page: %v)", err, page.Next != "")
			}
			recognised := 0
			for _, e := range slices.Backward(page.Entries) {
				switch {
				case e.Client == idp && idp != "other":
					recognised++
				case e.Client == "other" && recognised == 0:
				case e.Client == "other" && idp == "other":
				default:
					t.Errorf("%s %s: %s after %d recognised as %s", e.Method, e.Path, e.Client, recognised, idp)
				}
			}
			if idp == "other" {
				return
			}
			if recognised < len(page.Entries)/2 {
				t.Errorf("%d of %d requests recognised as %s", recognised, len(page.Entries), idp)
			}
			t.Logf("%d of %d requests recognised as %s's", recognised, len(page.Entries), idp)
		})
	}
}
