// Package storetest runs tests against every store backend: SQLite always, PostgreSQL when
// SCIMD_TEST_POSTGRES names a server. It also starts a real scimd HTTP server for end-to-end tests.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/httpapi"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/store/sqlite"
)

// Backend opens a fresh, empty store of one kind for a test.
type Backend struct {
	Name string
	Open func(t testing.TB) store.Store
}

// PostgresEnv names the environment variable that enables the PostgreSQL half of the tests.
const PostgresEnv = "SCIMD_TEST_POSTGRES"

// Backends lists the stores to run a test against. Without SCIMD_TEST_POSTGRES the
// PostgreSQL backend is still listed, and skips with a message saying how to enable it.
func Backends(t testing.TB) []Backend {
	return []Backend{{Name: "sqlite", Open: OpenSQLite}, {Name: "postgres", Open: OpenPostgres}}
}

// postgresHint is how to enable the PostgreSQL tests, said wherever they skip.
const postgresHint = "set " + PostgresEnv + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them"

// skippedPostgres counts the tests of this test binary that PostgresURL skipped, for Main.
var skippedPostgres atomic.Int64

// PostgresURL returns the test server's URL, or skips the test with a message naming the
// variable that enables it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		skippedPostgres.Add(1)
		t.Skip("PostgreSQL tests skipped: " + postgresHint)
	}
	return base
}

// Main runs the tests of a package that has PostgreSQL tests, from its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
//
// and then, if some were skipped, says so in one line: a run that looks green while half
// of it did not run should not need -v to be noticed. go test shows nothing of a passing
// package but its "ok" line unless run with -v, so without -v the line goes to the
// terminal go test runs in (/dev/tty) when there is one; with -v, or without a terminal
// (CI, which sets SCIMD_TEST_POSTGRES anyway), it goes to stderr.
func Main(m *testing.M) int {
	code := m.Run()
	if n := skippedPostgres.Load(); n > 0 {
		w, done := summaryOutput(testing.Verbose(), openTTY)
		fmt.Fprintln(w, skipSummary(callerPackage(), n))
		done()
	}
	return code
}

// skipSummary is Main's line.
func skipSummary(pkg string, n int64) string {
	tests := "tests"
	if n == 1 {
		tests = "test"
	}
	return fmt.Sprintf("%s: %d PostgreSQL %s skipped: %s", pkg, n, tests, postgresHint)
}

// callerPackage is the import path of the package whose TestMain called Main, as go test
// names it on its "ok" line.
func callerPackage() string {
	pc, _, _, ok := runtime.Caller(2)
	if !ok {
		return "?"
	}
	name := runtime.FuncForPC(pc).Name() // e.g. github.com/scimd/scimd/internal/httpapi_test.TestMain
	slash := strings.LastIndex(name, "/")
	if dot := strings.Index(name[slash+1:], "."); dot >= 0 {
		name = name[:slash+1+dot]
	}
	return strings.TrimSuffix(name, "_test")
}

func openTTY() (io.WriteCloser, error) { return os.OpenFile("/dev/tty", os.O_WRONLY, 0) }

// summaryOutput chooses where Main's line goes, and returns what to call when written.
func summaryOutput(verbose bool, tty func() (io.WriteCloser, error)) (io.Writer, func()) {
	if !verbose {
		if f, err := tty(); err == nil {
			return f, func() { f.Close() }
		}
	}
	return os.Stderr, func() {}
}

// NewPostgresSchema creates an empty schema for one test in the test database and
// returns a URL whose connections use it; the schema is dropped when the test ends.
func NewPostgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to %s=%s: %v", PostgresEnv, base, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "scimd_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// OpenPostgres opens a store on a fresh schema of the test PostgreSQL database.
func OpenPostgres(t testing.TB) store.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), NewPostgresSchema(t))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
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
	return StartServerWith(t, st, httpapi.Options{})
}

// StartServerWith is StartServer with options.
// The SCIM API is served through the whole server, as scimd serve serves it, so that the
// tests see what sits in front of the SCIM handler too.
func StartServerWith(t testing.TB, st store.Store, opts httpapi.Options) *Server {
	t.Helper()
	return StartFull(t, st, server.Options{SCIM: opts, Logger: opts.Logger}).Server
}

// NewTenant creates a tenant and a credential, and a client that uses it.
func (s *Server) NewTenant(t testing.TB, name string) *Tenant {
	t.Helper()
	ctx := context.Background()
	tn, err := s.Store.CreateTenant(ctx, store.Tenant{Name: name})
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	issued := credential.New(tn.ID, time.Now().UTC())
	if err := s.Store.CreateCredential(ctx, issued.Credential); err != nil {
		t.Fatalf("create credential: %v", err)
	}
	return &Tenant{Tenant: tn, Issued: issued, Client: scimclient.New(s.URL, issued.Bearer)}
}

// SeedUsers creates n users (user0000000@example.com, …) through the store with many
// concurrent writers, for benchmarks, and returns their ids in index order.
func SeedUsers(tb testing.TB, st store.Store, tenantID string, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				u, err := st.CreateUser(context.Background(), tenantID, SeedUser(i))
				if err != nil {
					failed.Store(err)
					return
				}
				ids[i] = u.ID
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatalf("seed users: %v", err)
	}
	return ids
}

// SeedUser is the i-th user SeedUsers creates.
func SeedUser(i int) scim.Resource {
	return scim.Resource{
		"userName":    fmt.Sprintf("user%07d@example.com", i),
		"externalId":  fmt.Sprintf("00u%07d", i),
		"displayName": fmt.Sprintf("User %d", i),
		"name":        map[string]any{"givenName": "User", "familyName": fmt.Sprintf("N%d", i)},
		"emails":      []any{map[string]any{"value": fmt.Sprintf("user%07d@example.com", i), "type": "work", "primary": true}},
		"active":      true,
	}
}

// Full is a real scimd server with SCIM and the management API on a loopback port.
type Full struct {
	*Server
	// Root is the server's URL (scheme and host): the management API is at Root+"/api/v1".
	Root    string
	Handler *server.Server
}

// StartFull serves SCIM and the management API over st on 127.0.0.1.
func StartFull(t testing.TB, st store.Store, opts server.Options) *Full {
	t.Helper()
	h := server.New(st, opts)
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		ts.Close()
		h.Close(context.Background())
	})
	return &Full{Server: &Server{Store: st, URL: ts.URL + httpapi.Prefix}, Root: ts.URL, Handler: h}
}

// APIKey mints a management API key ("" tenant for all tenants) and returns its secret.
func (f *Full) APIKey(t testing.TB, tenantID, scope string) string {
	t.Helper()
	k, err := f.Handler.Service.CreateAPIKey(context.Background(), tenantID, scope, "test")
	if err != nil {
		t.Fatalf("create API key: %v", err)
	}
	return k.Secret
}
