package httpapi_test

// End-to-end tests of authentication and tenant isolation over real HTTP on a real store.

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/store/sqlite"
	"github.com/scimd/scimd/internal/storetest"
)

// withAuth returns a copy of c that sends the given Authorization value ("" for none).
func withAuth(c *scimclient.Client, authorization string) *scimclient.Client {
	cp := *c
	cp.Authorization = authorization
	return &cp
}

// expectUnauthorized asserts a 401 with the SCIM error envelope and a WWW-Authenticate
// challenge naming both accepted schemes.
func expectUnauthorized(t testing.TB, resp *scimclient.Response) {
	t.Helper()
	expectError(t, resp, http.StatusUnauthorized, "")
	ch := resp.Header.Get("WWW-Authenticate")
	if !strings.Contains(ch, "Basic") || !strings.Contains(ch, "Bearer") {
		t.Fatalf("WWW-Authenticate = %q, want Basic and Bearer challenges", ch)
	}
}

func TestAuthentication(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		tn := srv.NewTenant(t, "auth")
		id, password, bearer := tn.Issued.Credential.ID, tn.Issued.Password, tn.Issued.Bearer
		c := tn.Client
		u := createUser(t, c, userBody("auth.user", nil))
		uid := idOf(t, u)

		// Every endpoint, every method, refuses an unauthenticated request before doing
		// anything, and says so in a SCIM error.
		requests := []struct{ method, path string }{
			{http.MethodGet, "/Users?startIndex=1&count=2"},
			{http.MethodPost, "/Users"},
			{http.MethodGet, "/Users/" + uid},
			{http.MethodPut, "/Users/" + uid},
			{http.MethodPatch, "/Users/" + uid},
			{http.MethodDelete, "/Users/" + uid},
			{http.MethodGet, "/Groups"},
			{http.MethodGet, "/ServiceProviderConfig"},
			{http.MethodGet, "/Schemas"},
			{http.MethodGet, "/ResourceTypes"},
			{http.MethodGet, "/NoSuchEndpoint"},
		}
		body := map[string]any{
			http.MethodPost:  userBody("intruder", nil),
			http.MethodPut:   userBody("intruder", nil),
			http.MethodPatch: patchBody(patchOp("replace", "userName", "intruder")),
		}
		bad := []struct{ name, authorization string }{
			{"none", ""},
			{"not a token (Okta SPEC test)", "non-token"},
			{"wrong Basic password", scimclient.Basic(id, password+"x")},
			{"Basic with empty password", scimclient.Basic(id, "")},
			{"Basic with unknown id", scimclient.Basic("scimd_000000000000000000", password)},
			{"Basic with the bearer token as user", scimclient.Basic(bearer, "")},
			{"malformed Basic", "Basic !!!notbase64"},
			{"wrong bearer secret", "Bearer " + id + ".AAAA"},
			{"bearer without secret", "Bearer " + id},
			{"bearer with the secret only", "Bearer " + password},
			{"empty bearer", "Bearer "},
			{"bearer with unknown id", "Bearer scimd_000000000000000000." + password},
			{"other scheme", "Token " + bearer},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				cc := withAuth(c, b.authorization)
				for _, r := range requests {
					expectUnauthorized(t, do(t, cc, r.method, r.path, body[r.method]))
				}
			})
		}
		// Nothing of that reached the data.
		got := mustDo(t, c, http.MethodGet, "/Users/"+uid, nil, http.StatusOK)
		if !jsonEq(got, u) {
			t.Fatalf("unauthenticated requests changed the user:\n%s\n%s", mustJSON(u), mustJSON(got))
		}
		expectIDs(t, mustList(t, c, "/Users"), uid)

		// Basic with the credential id and secret, and the bearer token, in any case of
		// the scheme name, are the same tenant.
		good := []string{
			scimclient.Basic(id, password),
			"Bearer " + bearer,
			"bearer " + bearer,
			"BEARER " + bearer,
		}
		all := []string{uid}
		for i, auth := range good {
			cc := withAuth(c, auth)
			expectIDs(t, mustList(t, cc, "/Users?startIndex=1&count=100"), all...)
			nu := createUser(t, cc, userBody(fmt.Sprintf("via.auth%d", i), nil))
			all = append(all, idOf(t, nu))
			mustDo(t, c, http.MethodGet, "/Users/"+idOf(t, nu), nil, http.StatusOK)
			mustDo(t, cc, http.MethodGet, "/ServiceProviderConfig", nil, http.StatusOK)
		}
	})
}

func TestRevokedCredential(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		tn := srv.NewTenant(t, "revoke")
		// A second credential of the same tenant, which stays valid.
		other := credential.New(tn.ID, time.Now().UTC())
		if err := srv.Store.CreateCredential(t.Context(), other.Credential); err != nil {
			t.Fatal(err)
		}
		c := tn.Client
		basic := withAuth(c, scimclient.Basic(tn.Issued.Credential.ID, tn.Issued.Password))
		c2 := withAuth(c, "Bearer "+other.Bearer)

		uid := idOf(t, createUser(t, c, userBody("revoke.user", nil)))
		mustList(t, basic, "/Users")

		if err := srv.Store.RevokeCredential(t.Context(), tn.Issued.Credential.ID); err != nil {
			t.Fatal(err)
		}
		// The very next request with either form of the revoked credential is refused.
		expectUnauthorized(t, do(t, c, http.MethodGet, "/Users", nil))
		expectUnauthorized(t, do(t, basic, http.MethodGet, "/Users/"+uid, nil))
		expectUnauthorized(t, do(t, c, http.MethodPost, "/Users", userBody("after.revoke", nil)))
		expectUnauthorized(t, do(t, basic, http.MethodDelete, "/Users/"+uid, nil))

		// The tenant's other credential still works and sees the data unchanged.
		expectIDs(t, mustList(t, c2, "/Users"), uid)
		expectIDs(t, filterUsers(t, c2, `userName eq "after.revoke"`))
	})
}

func TestTenantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, srv *storetest.Server) {
		a := newClient(t, srv, "tenant-a")
		b := newClient(t, srv, "tenant-b")

		ua := createUser(t, a, userBody("shared.name@example.com", map[string]any{
			"externalId": "ext-a", "title": "A",
			"emails": []any{map[string]any{"value": "shared@example.com", "type": "work"}},
		}))
		aid := idOf(t, ua)
		a2 := idOf(t, createUser(t, a, userBody("only.in.a@example.com", nil)))

		// B sees none of A's users: not by id, not in lists, not in any filter.
		expectError(t, do(t, b, http.MethodGet, "/Users/"+aid, nil), http.StatusNotFound, "")
		expectError(t, do(t, b, http.MethodPut, "/Users/"+aid, userBody("stolen", nil)), http.StatusNotFound, "")
		expectError(t, do(t, b, http.MethodPatch, "/Users/"+aid, patchBody(patchOp("replace", "active", false))), http.StatusNotFound, "")
		expectError(t, do(t, b, http.MethodDelete, "/Users/"+aid, nil), http.StatusNotFound, "")
		expectError(t, doWith(t, b, http.MethodDelete, "/Users/"+aid, nil, hdr("If-Match", "*")), http.StatusNotFound, "")
		emptyB := func() {
			t.Helper()
			for _, f := range []string{
				"", `userName eq "shared.name@example.com"`, fmt.Sprintf("id eq %q", aid), `externalId eq "ext-a"`,
				`emails.value eq "shared@example.com"`, `emails[type eq "work"]`, `title pr`, `active eq true`,
				`userName sw "only"`, `meta.created gt "2000-01-01T00:00:00Z"`,
			} {
				path := "/Users"
				if f != "" {
					path += "?" + filterParam(f)
				}
				if l := mustList(t, b, path); l.Total != 0 || len(l.Resources) != 0 {
					t.Fatalf("tenant B sees %d of A's users with filter %q", l.Total, f)
				}
			}
		}
		emptyB()

		// A's user is untouched.
		got := mustDo(t, a, http.MethodGet, "/Users/"+aid, nil, http.StatusOK)
		if !jsonEq(got, ua) {
			t.Fatalf("tenant B changed A's user:\n%s\n%s", mustJSON(ua), mustJSON(got))
		}

		// Uniqueness is per tenant: B can have the same userName, e-mail and externalId.
		ub := createUser(t, b, userBody("SHARED.NAME@example.com", map[string]any{
			"externalId": "ext-a",
			"emails":     []any{map[string]any{"value": "shared@example.com", "type": "work"}},
		}))
		bid := idOf(t, ub)
		if bid == aid {
			t.Fatal("two tenants' users share an id")
		}
		// Each tenant's lists and filters count only its own users.
		for _, f := range []string{`userName eq "shared.name@example.com"`, `externalId eq "ext-a"`, `emails.value eq "shared@example.com"`} {
			expectIDs(t, filterUsers(t, a, f), aid)
			expectIDs(t, filterUsers(t, b, f), bid)
		}
		expectIDs(t, mustList(t, a, "/Users?startIndex=1&count=100"), aid, a2)
		expectIDs(t, mustList(t, b, "/Users?startIndex=1&count=100"), bid)

		// Renaming B's user onto another of A's names is fine; onto B's own is a conflict.
		mustDo(t, b, http.MethodPatch, "/Users/"+bid, patchBody(patchOp("replace", "userName", "only.in.a@example.com")), http.StatusOK)
		createUser(t, b, userBody("b.second", nil))
		expectError(t, do(t, b, http.MethodPatch, "/Users/"+bid, patchBody(patchOp("replace", "userName", "B.Second"))), http.StatusConflict, scim.ErrUniqueness)

		// Deleting B's user leaves A's alone.
		expectStatus(t, do(t, b, http.MethodDelete, "/Users/"+bid, nil), http.StatusNoContent)
		mustDo(t, a, http.MethodGet, "/Users/"+aid, nil, http.StatusOK)
		expectIDs(t, mustList(t, a, "/Users"), aid, a2)
	})
}

// TestRevocationReachesEveryInstance: a credential revoked through one store (another
// scimd instance, or the command line on the same database) is refused by a server that
// has just used it within one second, although that server reuses credentials it read
// in the last second rather than reading one per request.
func TestRevocationReachesEveryInstance(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var open func() store.Store
			if backend == "sqlite" {
				path := filepath.Join(t.TempDir(), "scimd.db")
				open = func() store.Store {
					st, err := sqlite.Open(context.Background(), path)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { st.Close() })
					return st
				}
			} else {
				dsn := storetest.NewPostgresSchema(t)
				open = func() store.Store {
					st, err := postgres.Open(context.Background(), dsn)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { st.Close() })
					return st
				}
			}
			serving, other := open(), open()
			srv := storetest.StartServer(t, serving)
			tn := srv.NewTenant(t, "acme")
			c := tn.Client
			for range 20 { // warm: these are served from the cache after the first
				expectStatus(t, do(t, c, http.MethodGet, "/Users?count=1", nil), http.StatusOK)
			}
			revoked := time.Now()
			if err := other.RevokeCredential(context.Background(), tn.Issued.Credential.ID); err != nil {
				t.Fatal(err)
			}
			for {
				resp := do(t, c, http.MethodGet, "/Users?count=1", nil)
				if resp.Status == http.StatusUnauthorized {
					break
				}
				expectStatus(t, resp, http.StatusOK)
				if time.Since(revoked) > time.Second+250*time.Millisecond {
					t.Fatalf("the revoked credential still works %s after the revocation", time.Since(revoked))
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
