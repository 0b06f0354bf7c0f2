package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/store/sqlite"
	"github.com/scimd/scimd/sdk"
)

// TestAdminCommands: the tenant, credential and API key commands the management API also
// offers, run as a shell would, checked against a server on the same database.
func TestAdminCommands(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "tenant", "create", "acme", "--external-ref", "cus_1")
	var tenants []struct {
		ID          string     `json:"id"`
		Name        string     `json:"name"`
		ExternalRef string     `json:"external_ref"`
		Disabled    *time.Time `json:"disabled"`
		Created     time.Time  `json:"created"`
	}
	okJSON(t, db, &tenants, "tenant", "list", "--json")
	if len(tenants) != 1 || tenants[0].Name != "acme" || tenants[0].ExternalRef != "cus_1" || tenants[0].Disabled != nil {
		t.Fatalf("tenant list: %+v", tenants)
	}
	fails(t, runMain(t, db, nil, "tenant", "create", "other", "--external-ref", "cus_1"), "already exists", "a taken external reference")

	var cred struct {
		Tenant, ID, Username, Password, Bearer string
		BaseURL                                string `json:"base_url"`
	}
	okJSON(t, db, &cred, "credential", "create", "--tenant", "acme", "--json")
	var rotated struct {
		Tenant, ID, Username, Password, Bearer string
		BaseURL                                string `json:"base_url"`
	}
	okJSON(t, db, &rotated, "credential", "rotate", cred.ID, "--overlap", "1h", "--json")
	if rotated.ID != cred.ID || rotated.Username != cred.Username || rotated.Password == cred.Password || rotated.Tenant != "acme" {
		t.Fatalf("credential rotate: %+v after %+v", rotated, cred)
	}
	out := ok(t, db, "credential", "rotate", cred.ID, "--overlap", "0")
	if !strings.Contains(out, "the old password no longer works") || !strings.Contains(out, "password:") {
		t.Fatalf("credential rotate --overlap 0:\n%s", out)
	}
	fails(t, runMain(t, db, nil, "credential", "rotate", cred.ID, "--overlap", "-1s"), "overlap", "a negative overlap")

	var key struct{ ID, Key string }
	okJSON(t, db, &key, "apikey", "create", "--scope", "read", "--json")
	if !strings.HasPrefix(key.Key, key.ID+".") {
		t.Fatalf("apikey create: %+v", key)
	}
	fails(t, runMain(t, db, nil, "apikey", "create", "--scope", "owner"), "scope", "an unknown scope")
	fails(t, runMain(t, db, nil, "apikey", "create", "--tenant", "nobody"), `no tenant named "nobody"`, "an unknown tenant")
	out = ok(t, db, "apikey", "list")
	if !strings.Contains(out, key.ID) || !strings.Contains(out, "read") || strings.Contains(out, key.Key) {
		t.Fatalf("apikey list shows the key's id and scope, never its secret:\n%s", out)
	}

	// The key works on the management API of a server on this database, and the tenant's
	// disabling and deletion made from the command line show there.
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(server.New(st, server.Options{}))
	defer srv.Close()
	c := sdk.New(srv.URL, key.Key)
	ctx := context.Background()
	ten, err := c.TenantByExternalRef(ctx, "cus_1")
	if err != nil || ten.Name != "acme" {
		t.Fatalf("the key on the API: %+v, %v", ten, err)
	}
	ok(t, db, "tenant", "disable", "acme")
	if ten, err = c.GetTenant(ctx, ten.ID); err != nil || !ten.Disabled {
		t.Fatalf("after tenant disable: %+v, %v", ten, err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/scim/v2/Users", nil)
	req.SetBasicAuth(rotated.ID, rotated.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("SCIM for a disabled tenant: %d", resp.StatusCode)
	}
	ok(t, db, "tenant", "enable", "acme")
	fails(t, runMain(t, db, nil, "tenant", "delete", "acme"), "--confirm acme", "delete without --confirm")
	fails(t, runMain(t, db, nil, "tenant", "delete", "acme", "--confirm", "other"), "--confirm acme", "delete confirming another name")
	ok(t, db, "tenant", "delete", "acme", "--confirm", "acme")
	if _, err := c.GetTenant(ctx, ten.ID); !sdk.IsNotFound(err) {
		t.Fatalf("after tenant delete: %v", err)
	}
	ok(t, db, "apikey", "revoke", key.ID)
	if _, err := c.ListTenants(ctx, sdk.TenantListOptions{}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a revoked key: %v", err)
	}
}
