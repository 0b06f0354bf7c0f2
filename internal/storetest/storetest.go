// Package storetest runs tests against every store backend: SQLite always, PostgreSQL when
// SCIMD_TEST_POSTGRES names a server. It also starts a real scimd HTTP server for end-to-end tests.
package storetest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/sqlite"
)

// Backend opens a fresh, empty store of one kind for a test.
type Backend struct {
	Name string
	Open func(t testing.TB) store.Store
}

// Backends lists the stores to run a test against.
func Backends(t testing.TB) []Backend {
	return []Backend{{Name: "sqlite", Open: OpenSQLite}}
}

// OpenSQLite opens a store on a new SQLite file in the test's temporary directory.
func OpenSQLite(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "scimd.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Tenant is a tenant with a credential, as an identity provider sees it.
type Tenant struct {
	store.Tenant
	Issued credential.Issued
	Client *scimclient.Client
}

// Server is a real scimd HTTP server on a loopback port.
type Server struct {
	Store store.Store
	URL   string // the SCIM base URL, ending in /scim/v2
}

// StartServer serves the SCIM API over st on 127.0.0.1.
func StartServer(t testing.TB, st store.Store) *Server {
	t.Helper()
	ts := httptest.NewServer(httpapi.New(st, httpapi.Options{}))
	t.Cleanup(ts.Close)
	return &Server{Store: st, URL: ts.URL + httpapi.Prefix}
}

// NewTenant creates a tenant and a credential, and a client that uses it.
func (s *Server) NewTenant(t testing.TB, name string) *Tenant {
	t.Helper()
	ctx := context.Background()
	tn, err := s.Store.CreateTenant(ctx, name)
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	issued := credential.New(tn.ID, time.Now().UTC())
	if err := s.Store.CreateCredential(ctx, issued.Credential); err != nil {
		t.Fatalf("create credential: %v", err)
	}
	return &Tenant{Tenant: tn, Issued: issued, Client: scimclient.New(s.URL, issued.Bearer)}
}
