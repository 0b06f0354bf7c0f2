package cli

// The command line, run in process through Main against a real SQLite file. Data is made
// through the HTTP API (a server over a store opened on the same file, closed before the
// command runs) or through the store, so that the commands read what an identity provider
// wrote.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/sqlite"
	"github.com/scimd/scimd/internal/storetest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type result struct {
	code           int
	stdout, stderr string
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// runMain runs one command with --db set to db (unless db is "") and the given
// environment variables.
func runMain(t *testing.T, db string, vars map[string]string, args ...string) result {
	t.Helper()
	if db != "" {
		args = append(args, "--db", db)
	}
	var out, errOut syncBuffer
	code := Main(context.Background(), args, Env{Stdout: &out, Stderr: &errOut, Getenv: envOf(vars)})
	return result{code, out.String(), errOut.String()}
}

// ok runs a command that must succeed without writing to stderr.
func ok(t *testing.T, db string, args ...string) string {
	t.Helper()
	r := runMain(t, db, nil, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("scimd %s: exit %d, stderr %q, stdout %q", strings.Join(args, " "), r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

// okJSON runs a command and decodes its JSON output into v, refusing unknown fields.
func okJSON(t *testing.T, db string, v any, args ...string) {
	t.Helper()
	out := ok(t, db, args...)
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("scimd %s: output is not the expected JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	if dec.More() {
		t.Fatalf("scimd %s: more than one JSON value:\n%s", strings.Join(args, " "), out)
	}
}

// fails checks a command that must fail with one line on stderr and nothing on stdout.
func fails(t *testing.T, r result, want string, what string) {
	t.Helper()
	if r.code == 0 {
		t.Errorf("%s: exit 0, want non-zero (stdout %q)", what, r.stdout)
	}
	if r.stdout != "" {
		t.Errorf("%s: stdout %q, want nothing", what, r.stdout)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || !strings.HasPrefix(r.stderr, "scimd: ") {
		t.Errorf("%s: stderr %q, want one line starting with \"scimd: \"", what, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("%s: stderr %q does not mention %q", what, r.stderr, want)
	}
}

func tempDB(t *testing.T) string {
	return filepath.Join(t.TempDir(), "scimd.db")
}

// openStore opens a store on the file; it must be closed before a command runs.
func openTestStore(t *testing.T, db string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func call(t *testing.T, c *scimclient.Client, method, path string, body any, status int) map[string]any {
	t.Helper()
	resp, err := c.Do(context.Background(), method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.Status, status, resp.Body)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	m, err := resp.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type tenantRow struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

type credentialRow struct {
	ID         string     `json:"id"`
	Tenant     string     `json:"tenant"`
	Created    time.Time  `json:"created"`
	Revoked    *time.Time `json:"revoked"`
	Rotated    *time.Time `json:"rotated"`
	LastUsed   *time.Time `json:"last_used"`
	LastClient string     `json:"last_client"`
}

type issuedCredential struct {
	Tenant   string `json:"tenant"`
	ID       string `json:"id"`
	Username string `json:"username"`
	Password string `json:"password"`
	Bearer   string `json:"bearer"`
	BaseURL  string `json:"base_url"`
}

func TestTenantAndCredentialCommands(t *testing.T) {
	db := tempDB(t)

	out := ok(t, db, "tenant", "create", "acme")
	m := regexp.MustCompile(`^created tenant acme \((\S+)\)\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("tenant create: %q", out)
	}
	acmeID := m[1]
	var beta tenantRow
	okJSON(t, db, &beta, "tenant", "create", "beta", "--json") // a flag after the name
	if beta.Name != "beta" || beta.ID == "" || beta.ID == acmeID || beta.Created.IsZero() {
		t.Fatalf("tenant create --json: %+v", beta)
	}
	fails(t, runMain(t, db, nil, "tenant", "create", "acme"), "already exists", "tenant create of an existing name")

	var tenants []tenantRow
	okJSON(t, db, &tenants, "tenant", "list", "--json")
	if len(tenants) != 2 || tenants[0].Name != "acme" || tenants[0].ID != acmeID || tenants[1] != beta {
		t.Fatalf("tenant list --json: %+v", tenants)
	}
	out = ok(t, db, "tenant", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Fields(lines[0])[0] != "NAME" || strings.Fields(lines[1])[0] != "acme" || strings.Fields(lines[1])[1] != acmeID || strings.Fields(lines[2])[0] != "beta" {
		t.Fatalf("tenant list:\n%s", out)
	}
	// Flags can come from the environment.
	r := runMain(t, "", map[string]string{"SCIMD_DB": db, "SCIMD_JSON": "true"}, "tenant", "list")
	var fromEnv []tenantRow
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &fromEnv) != nil || !reflect.DeepEqual(fromEnv, tenants) {
		t.Fatalf("tenant list with SCIMD_DB and SCIMD_JSON: %+v", r)
	}

	// credential create --json prints exactly these keys.
	out = ok(t, db, "credential", "create", "--tenant", "acme", "--json")
	var keys map[string]any
	if err := json.Unmarshal([]byte(out), &keys); err != nil {
		t.Fatalf("credential create --json: %v: %q", err, out)
	}
	var names []string
	for k, v := range keys {
		names = append(names, k)
		if s, _ := v.(string); s == "" {
			t.Errorf("credential create --json: %q is %#v", k, v)
		}
	}
	sort.Strings(names)
	if !reflect.DeepEqual(names, []string{"base_url", "bearer", "id", "password", "tenant", "username"}) {
		t.Fatalf("credential create --json keys %v, want base_url bearer id password tenant username", names)
	}
	var c1 issuedCredential
	json.Unmarshal([]byte(out), &c1)
	if c1.Tenant != "acme" || c1.Username != c1.ID || c1.Bearer != c1.ID+"."+c1.Password || len(c1.Password) < 40 {
		t.Fatalf("credential create --json: %+v", c1)
	}
	// Without --base-url, the connector URL of a scimd started with no flags.
	if c1.BaseURL != "http://localhost:8080/scim/v2" {
		t.Fatalf("credential create --json: base_url %q, want http://localhost:8080/scim/v2", c1.BaseURL)
	}
	out = ok(t, db, "credential", "create", "--tenant", "acme")
	fields := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, found := strings.Cut(line, ":"); found {
			fields[k] = strings.TrimSpace(v)
		}
	}
	c2 := issuedCredential{fields["tenant"], fields["id"], fields["username"], fields["password"], fields["bearer"], fields["base URL"]}
	if c2.Tenant != "acme" || c2.ID == "" || c2.ID == c1.ID || c2.Username != c2.ID || c2.Bearer != c2.ID+"."+c2.Password || c2.BaseURL != "http://localhost:8080/scim/v2" {
		t.Fatalf("credential create:\n%s", out)
	}

	var creds []credentialRow
	okJSON(t, db, &creds, "credential", "list", "--json")
	if len(creds) != 2 || creds[0].ID != c1.ID || creds[1].ID != c2.ID || creds[0].Tenant != "acme" || creds[0].Revoked != nil || creds[1].Revoked != nil {
		t.Fatalf("credential list --json: %+v", creds)
	}
	if strings.Contains(ok(t, db, "credential", "list", "--json"), c1.Password) {
		t.Fatalf("credential list shows a secret")
	}
	okJSON(t, db, &creds, "credential", "list", "--tenant", "beta", "--json")
	if creds == nil || len(creds) != 0 {
		t.Fatalf("credential list --tenant beta --json: %+v, want []", creds)
	}
	out = ok(t, db, "credential", "list", "--tenant", "acme")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], c1.ID) || !strings.HasSuffix(lines[1], "-") {
		t.Fatalf("credential list --tenant acme:\n%s", out)
	}

	// The printed secrets authenticate, as bearer and as Basic; a server runs on the file
	// while the next commands run, as in production.
	st := openTestStore(t, db)
	defer st.Close()
	srv := storetest.StartServer(t, st)
	auth := func(authz string) int {
		t.Helper()
		c := scimclient.New(srv.URL, "")
		c.Authorization = authz
		resp, err := c.Do(context.Background(), "GET", "/Users", nil)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	for _, c := range []issuedCredential{c1, c2} {
		if got := auth("Bearer " + c.Bearer); got != http.StatusOK {
			t.Fatalf("bearer of %s: %d", c.ID, got)
		}
		if got := auth(scimclient.Basic(c.Username, c.Password)); got != http.StatusOK {
			t.Fatalf("Basic of %s: %d", c.ID, got)
		}
	}
	if got := auth(scimclient.Basic(c1.Username, c2.Password)); got != http.StatusUnauthorized {
		t.Fatalf("mismatched id and password: %d", got)
	}

	if out := ok(t, db, "credential", "revoke", c1.ID); out != "revoked "+c1.ID+"\n" {
		t.Fatalf("credential revoke: %q", out)
	}
	// The server is another process's store: it reuses credentials it read in the last
	// second, so the revocation reaches it within a second.
	revokedAt := time.Now()
	for auth("Bearer "+c1.Bearer) != http.StatusUnauthorized {
		if time.Since(revokedAt) > time.Second+250*time.Millisecond {
			t.Fatalf("revoked bearer still works %s after the revocation", time.Since(revokedAt))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := auth(scimclient.Basic(c1.Username, c1.Password)); got != http.StatusUnauthorized {
		t.Fatalf("revoked Basic: %d, want 401", got)
	}
	if got := auth("Bearer " + c2.Bearer); got != http.StatusOK {
		t.Fatalf("the other credential after a revocation: %d", got)
	}
	okJSON(t, db, &creds, "credential", "list", "--tenant", "acme", "--json")
	if len(creds) != 2 || creds[0].ID != c1.ID || creds[0].Revoked == nil || creds[1].Revoked != nil {
		t.Fatalf("credential list after revoke: %+v", creds)
	}
	var revoked map[string]any
	okJSON(t, db, &revoked, "credential", "revoke", c1.ID, "--json") // revoking again is harmless
	if !reflect.DeepEqual(revoked, map[string]any{"id": c1.ID, "revoked": true}) {
		t.Fatalf("credential revoke --json: %v", revoked)
	}
	fails(t, runMain(t, db, nil, "credential", "revoke", "scimd_000000000000000000"), "scimd_000000000000000000", "revoke an unknown credential")

	// The base URL printed beside the secret, from --base-url or SCIMD_BASE_URL, in any of
	// the forms serve accepts.
	for _, tc := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{[]string{"--base-url", "https://scim.example.com"}, nil, "https://scim.example.com/scim/v2"},
		{[]string{"--base-url", "https://scim.example.com/scim/v2/"}, nil, "https://scim.example.com/scim/v2"},
		{nil, map[string]string{"SCIMD_BASE_URL": "https://scim.example.com/scim/v2"}, "https://scim.example.com/scim/v2"},
		{[]string{"--base-url", "http://10.0.0.5:9000/"}, map[string]string{"SCIMD_BASE_URL": "https://ignored.example.com"}, "http://10.0.0.5:9000/scim/v2"},
	} {
		r := runMain(t, db, tc.vars, append([]string{"credential", "create", "--tenant", "beta", "--json"}, tc.args...)...)
		var c issuedCredential
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &c) != nil || c.BaseURL != tc.want {
			t.Fatalf("credential create %v %v: base_url %q, want %q (%+v)", tc.args, tc.vars, c.BaseURL, tc.want, r)
		}
		r = runMain(t, db, tc.vars, append([]string{"credential", "create", "--tenant", "beta"}, tc.args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "\nbase URL:  "+tc.want+"\n") {
			t.Fatalf("credential create %v %v: no base URL line %q: %+v", tc.args, tc.vars, tc.want, r)
		}
	}
}

func TestCommandErrors(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "tenant", "create", "acme")
	badSchemas := filepath.Join(t.TempDir(), "schemas.json")
	if err := os.WriteFile(badSchemas, []byte(`{"extensions":[{"resourceType":"User","schema":{"id":"urn:x:y","attributes":[{"name":"9lives","type":"string"}]}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		vars map[string]string
		want string
	}{
		{args: []string{"credential", "create", "--tenant", "nope"}, want: `no tenant named "nope"`},
		{args: []string{"credential", "list", "--tenant", "nope"}, want: `no tenant named "nope"`},
		{args: []string{"user", "list", "--tenant", "nope"}, want: `no tenant named "nope"`},
		{args: []string{"user", "list", "--tenant", "nope", "--role", "Admins"}, want: `no tenant named "nope"`},
		{args: []string{"group", "list", "--tenant", "nope"}, want: `no tenant named "nope"`},
		{args: []string{"credential", "create"}, want: "--tenant is required"},
		{args: []string{"user", "list"}, want: "--tenant is required"},
		{args: []string{"group", "list", "--json"}, want: "--tenant is required"},
		{args: []string{"frobnicate"}, want: `unknown command "frobnicate"`},
		{args: []string{"tenant", "rename", "acme"}, want: `unknown command "tenant rename"; run 'scimd tenant' for its commands`},
		{args: []string{"user", "show"}, want: `unknown command "user show"; run 'scimd user' for its commands`},
		{args: []string{"help", "nothing"}, want: `unknown command "help nothing"`},
		{args: []string{"version", "extra"}, want: `unknown command "version extra"`},
		{args: []string{"--version", "extra"}, want: "usage: scimd version"},
		{args: []string{"tenant", "create"}, want: "usage: scimd tenant create NAME"},
		{args: []string{"tenant", "create", "a", "b"}, want: "usage: scimd tenant create NAME"},
		{args: []string{"credential", "revoke"}, want: "usage: scimd credential revoke ID"},
		{args: []string{"tenant", "list", "--bogus"}, want: "bogus"},
		{args: []string{"user", "list", "--tenant"}, want: "tenant"},
		{args: []string{"tenant", "list"}, vars: map[string]string{"SCIMD_JSON": "maybe"}, want: "SCIMD_JSON"},
		// A server that cannot listen neither bootstraps nor prints a credential.
		{args: []string{"serve", "--addr", "127.0.0.1:99999"}, want: "listen"},
		{args: []string{"serve", "--addr"}, want: "addr"},
		// A schema file with an error stops the server before it starts.
		{args: []string{"serve", "--addr", "127.0.0.1:0", "--schemas", badSchemas}, want: "ATTRNAME"},
		{args: []string{"serve", "--addr", "127.0.0.1:0", "--schemas", badSchemas + ".missing"}, want: "read schema file"},
		{args: []string{"serve", "--addr", "127.0.0.1:0", "--filter-max-nodes", "many"}, want: "filter-max-nodes"},
		// A base URL that cannot prefix a URL is refused before anything starts.
		{args: []string{"serve", "--addr", "127.0.0.1:0", "--base-url", "scim.example.com"}, want: "--base-url"},
		{args: []string{"serve", "--addr", "127.0.0.1:0"}, vars: map[string]string{"SCIMD_BASE_URL": "ftp://scim.example.com"}, want: "--base-url"},
		{args: []string{"credential", "create", "--tenant", "acme", "--base-url", "https://scim.example.com/?x=1"}, want: "--base-url"},
		{args: []string{"credential", "create", "--tenant", "acme", "--base-url", "/scim/v2"}, want: "--base-url"},
	} {
		what := "scimd " + strings.Join(tc.args, " ")
		fails(t, runMain(t, db, tc.vars, tc.args...), tc.want, what)
	}
	// Nothing above changed the data.
	var tenants []tenantRow
	okJSON(t, db, &tenants, "tenant", "list", "--json")
	if len(tenants) != 1 || tenants[0].Name != "acme" {
		t.Fatalf("tenants after failed commands: %+v", tenants)
	}
	if out := ok(t, "", "help"); !strings.Contains(out, "usage:") {
		t.Fatalf("help: %q", out)
	}
}

type userRow struct {
	ID       string   `json:"id"`
	UserName string   `json:"userName"`
	Active   bool     `json:"active"`
	Roles    []string `json:"roles"`
}

type groupRow struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Members     int      `json:"members"`
	Roles       []string `json:"roles"`
}

func TestUserAndGroupListShowRoles(t *testing.T) {
	db := tempDB(t)
	// An identity provider provisions two tenants over HTTP.
	st := openTestStore(t, db)
	srv := storetest.StartServer(t, st)
	acme, beta := srv.NewTenant(t, "acme"), srv.NewTenant(t, "beta")
	user := func(c *scimclient.Client, name string, active bool) string {
		m := call(t, c, "POST", "/Users", map[string]any{"userName": name, "active": active}, http.StatusCreated)
		return m["id"].(string)
	}
	group := func(c *scimclient.Client, name string, members ...string) string {
		list := []any{}
		for _, id := range members {
			list = append(list, map[string]any{"value": id})
		}
		m := call(t, c, "POST", "/Groups", map[string]any{"displayName": name, "members": list}, http.StatusCreated)
		return m["id"].(string)
	}
	alice := user(acme.Client, "alice", true)
	bob := user(acme.Client, "bob", true)
	carol := user(acme.Client, "carol", true)
	dave := user(acme.Client, "dave", true)
	admins := group(acme.Client, "Admins", alice, dave)
	readers := group(acme.Client, "Readers", bob)
	call(t, acme.Client, "PATCH", "/Groups/"+readers, map[string]any{
		"schemas":    []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": alice}}}},
	}, http.StatusNoContent)
	// Deactivated, dave stays a member of Admins but holds no role: an inactive user
	// holds nothing unless the role configuration names an inactive role.
	call(t, acme.Client, "PATCH", "/Users/"+dave, map[string]any{
		"schemas":    []any{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}},
	}, http.StatusOK)
	erin := user(beta.Client, "erin", true)
	betaAdmins := group(beta.Client, "Admins", erin)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	var groups []groupRow
	okJSON(t, db, &groups, "group", "list", "--tenant", "acme", "--json")
	if want := []groupRow{{admins, "Admins", 2, []string{"Admins"}}, {readers, "Readers", 2, []string{"Readers"}}}; !reflect.DeepEqual(groups, want) {
		t.Fatalf("group list --tenant acme: %+v, want %+v", groups, want)
	}
	okJSON(t, db, &groups, "group", "list", "--tenant", "beta", "--json")
	if want := []groupRow{{betaAdmins, "Admins", 1, []string{"Admins"}}}; !reflect.DeepEqual(groups, want) {
		t.Fatalf("group list --tenant beta: %+v, want %+v", groups, want)
	}
	out := ok(t, db, "group", "list", "--tenant", "acme")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 || !reflect.DeepEqual(strings.Fields(lines[1]), []string{admins, "Admins", "2", "Admins"}) {
		t.Fatalf("group list:\n%s", out)
	}

	users := func(args ...string) []userRow {
		t.Helper()
		var rows []userRow
		okJSON(t, db, &rows, append([]string{"user", "list", "--json"}, args...)...)
		return rows
	}
	all := []userRow{
		{alice, "alice", true, []string{"Admins", "Readers"}},
		{bob, "bob", true, []string{"Readers"}},
		{carol, "carol", true, []string{}},
		{dave, "dave", false, []string{}},
	}
	if got := users("--tenant", "acme"); !reflect.DeepEqual(got, all) {
		t.Fatalf("user list --tenant acme:\n%+v\nwant\n%+v", got, all)
	}
	for _, tc := range []struct {
		role string
		want []userRow
	}{
		{"Admins", []userRow{all[0]}},
		{"admins", []userRow{all[0]}}, // role names compare case-insensitively
		{"Readers", []userRow{all[0], all[1]}},
		{"Nobody", []userRow{}},
	} {
		if got := users("--tenant", "acme", "--role", tc.role); !reflect.DeepEqual(got, tc.want) {
			t.Fatalf("user list --role %s: %+v, want %+v", tc.role, got, tc.want)
		}
	}
	if got, want := users("--tenant", "beta", "--role", "Admins"), []userRow{{erin, "erin", true, []string{"Admins"}}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("user list --tenant beta --role Admins: %+v, want %+v", got, want)
	}
	out = ok(t, db, "user", "list", "--tenant", "acme", "--role", "Admins")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !reflect.DeepEqual(strings.Fields(lines[0]), []string{"ID", "USERNAME", "ACTIVE", "ROLES"}) ||
		!reflect.DeepEqual(strings.Fields(lines[1]), []string{alice, "alice", "true", "Admins,Readers"}) {
		t.Fatalf("user list --role Admins:\n%s", out)
	}

	// Deleting the group takes the role from its members; deleting a user takes it out of
	// its groups.
	st = openTestStore(t, db)
	ctx := context.Background()
	if err := st.DeleteGroup(ctx, acme.ID, admins, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteUser(ctx, acme.ID, bob, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	want := []userRow{
		{alice, "alice", true, []string{"Readers"}},
		{carol, "carol", true, []string{}},
		{dave, "dave", false, []string{}},
	}
	if got := users("--tenant", "acme"); !reflect.DeepEqual(got, want) {
		t.Fatalf("user list after deletes: %+v, want %+v", got, want)
	}
	if got := users("--tenant", "acme", "--role", "Admins"); len(got) != 0 {
		t.Fatalf("user list --role Admins after the group's deletion: %+v", got)
	}
	okJSON(t, db, &groups, "group", "list", "--tenant", "acme", "--json")
	if want := []groupRow{{readers, "Readers", 1, []string{"Readers"}}}; !reflect.DeepEqual(groups, want) {
		t.Fatalf("group list after deletes: %+v, want %+v", groups, want)
	}
}

// TestUserListPages checks that user list and group list read every page of a tenant
// larger than one page of the store.
func TestUserListPages(t *testing.T) {
	db := tempDB(t)
	st := openTestStore(t, db)
	ctx := context.Background()
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1203
	ids := make([]string, 0, n)
	for i := 0; i < n; i++ {
		u, err := st.CreateUser(ctx, tn.ID, map[string]any{"userName": fmt.Sprintf("user%04d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	if _, err := st.CreateGroup(ctx, tn.ID, map[string]any{"displayName": "Everyone"}, ids); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var rows []userRow
	okJSON(t, db, &rows, "user", "list", "--tenant", "big", "--role", "everyone", "--json")
	if len(rows) != n || rows[0].ID != ids[0] || rows[n-1].ID != ids[n-1] {
		t.Fatalf("user list --role: %d rows, want %d", len(rows), n)
	}
	var groups []groupRow
	okJSON(t, db, &groups, "group", "list", "--tenant", "big", "--json")
	if len(groups) != 1 || groups[0].Members != n {
		t.Fatalf("group list: %+v", groups)
	}
}

// serving is a serve command running in a goroutine.
type serving struct {
	addr           string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

// startServe runs serve with args and environment variables; terminal is what the command
// is told about its stdout (Env.IsTerminal).
func startServe(t *testing.T, args []string, vars map[string]string, terminal bool) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	ready := make(chan string, 1)
	env := Env{Stdout: s.stdout, Stderr: s.stderr, Getenv: envOf(vars), Ready: func(addr string) { ready <- addr },
		IsTerminal: func() bool { return terminal }}
	go func() { s.done <- Main(ctx, args, env) }()
	select {
	case s.addr = <-ready:
	case code := <-s.done:
		t.Fatalf("serve exited with %d before listening: %s", code, s.stderr)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("serve did not become ready")
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the command's context and expects a clean exit.
func (s *serving) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case code := <-s.done:
		if code != 0 {
			t.Errorf("serve exited with %d: %s", code, s.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("serve did not stop after its context ended")
	}
}

var firstStartLine = regexp.MustCompile(`(?m)^\s*(SCIM connector base URL|Basic auth user name|Basic auth password|Bearer token):\s+(\S+)\s*$`)

// printedSecrets parses the first-start message: each value must appear exactly once.
func printedSecrets(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, m := range firstStartLine.FindAllStringSubmatch(out, -1) {
		if _, dup := got[m[1]]; dup {
			t.Fatalf("%q printed twice:\n%s", m[1], out)
		}
		got[m[1]] = m[2]
	}
	if len(got) != 4 {
		t.Fatalf("first start printed %d of the 4 values:\n%s", len(got), out)
	}
	return got
}

// mintHint is the line a start that makes no credential prints: how to make one.
var mintHint = regexp.MustCompile(`(?m)^  (scimd credential create --tenant .*)$`)

func TestServe(t *testing.T) {
	db := tempDB(t)
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", db}, nil, true)
	printed := printedSecrets(t, s.stdout.String())
	base := "http://" + s.addr + "/scim/v2"
	if printed["SCIM connector base URL"] != base {
		t.Errorf("printed base URL %q, want %q (where the server listens)", printed["SCIM connector base URL"], base)
	}
	id, password, bearer := printed["Basic auth user name"], printed["Basic auth password"], printed["Bearer token"]
	if bearer != id+"."+password {
		t.Fatalf("bearer %q is not <user name>.<password>", bearer)
	}
	if strings.Count(s.stdout.String(), password) != 2 { // the password line and inside the bearer
		t.Fatalf("the password is printed %d times:\n%s", strings.Count(s.stdout.String(), password), s.stdout)
	}
	if strings.Contains(s.stderr.String(), password) {
		t.Fatalf("the secret is in the log: %s", s.stderr)
	}
	// At a terminal nothing is written to disk.
	if _, err := os.Stat(filepath.Join(filepath.Dir(db), "scimd-first-credential.txt")); !os.IsNotExist(err) {
		t.Fatalf("a first start at a terminal wrote the credential file (%v)", err)
	}
	// The first start says how to make more credentials; the command works as printed.
	wantHint := "scimd credential create --tenant default --db " + db + " --base-url http://" + s.addr
	if m := mintHint.FindStringSubmatch(s.stdout.String()); m != nil {
		t.Fatalf("first start printed the second start's hint:\n%s", s.stdout)
	}
	if !strings.Contains(s.stdout.String(), "More credentials (one per identity provider): "+wantHint+"\n") {
		t.Fatalf("first start does not say how to make more credentials (%q):\n%s", wantHint, s.stdout)
	}

	viaBearer := scimclient.New(base, bearer)
	l := call(t, viaBearer, "GET", "/Users", nil, http.StatusOK)
	if fmt.Sprint(l["totalResults"]) != "0" {
		t.Fatalf("GET /Users on a new server: %v", l)
	}
	viaBasic := scimclient.New(base, "")
	viaBasic.Authorization = scimclient.Basic(id, password)
	call(t, viaBasic, "POST", "/Users", map[string]any{"userName": "alice"}, http.StatusCreated)
	l = call(t, viaBasic, "GET", "/Users", nil, http.StatusOK)
	if fmt.Sprint(l["totalResults"]) != "1" {
		t.Fatalf("GET /Users with Basic: %v", l)
	}
	wrong := scimclient.New(base, id+".wrong")
	call(t, wrong, "GET", "/Users", nil, http.StatusUnauthorized)
	s.stop(t)

	var tenants []tenantRow
	okJSON(t, db, &tenants, "tenant", "list", "--json")
	if len(tenants) != 1 || tenants[0].Name != "default" {
		t.Fatalf("tenants after the first start: %+v", tenants)
	}

	// The second start prints no secret, says how to make a credential, and the first
	// credential still works.
	s = startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", db}, nil, true)
	out := s.stdout.String()
	if strings.Contains(out, password) || strings.Contains(s.stderr.String(), password) {
		t.Fatalf("the secret is printed or logged on the second start:\n%s\n%s", out, s.stderr)
	}
	if strings.Contains(out, "Basic auth password") || strings.Contains(out, "Bearer token") {
		t.Fatalf("second start printed credential values:\n%s", out)
	}
	if !strings.Contains(out, "SCIM connector base URL: http://"+s.addr+"/scim/v2\n") {
		t.Fatalf("second start does not print the connector URL:\n%s", out)
	}
	m := mintHint.FindStringSubmatch(out)
	if want := "scimd credential create --tenant default --db " + db + " --base-url http://" + s.addr; m == nil || m[1] != want {
		t.Fatalf("second start: hint %q, want %q:\n%s", m, want, out)
	}
	again := scimclient.New("http://"+s.addr+"/scim/v2", bearer)
	if l := call(t, again, "GET", "/Users", nil, http.StatusOK); fmt.Sprint(l["totalResults"]) != "1" {
		t.Fatalf("GET /Users after a restart: %v", l)
	}
	s.stop(t)
	okJSON(t, db, &tenants, "tenant", "list", "--json")
	if len(tenants) != 1 {
		t.Fatalf("a second start created a tenant: %+v", tenants)
	}
	// The hint's command, run as printed (its arguments split as a shell would: none is
	// quoted here), makes a credential for this server.
	var minted issuedCredential
	okJSON(t, "", &minted, append(strings.Fields(strings.TrimPrefix(m[1], "scimd ")), "--json")...)
	if minted.Tenant != "default" || minted.BaseURL != "http://"+s.addr+"/scim/v2" {
		t.Fatalf("the hint's command made %+v", minted)
	}

	// With several tenants the hint names none.
	ok(t, db, "tenant", "create", "acme")
	s = startServe(t, []string{"--addr", "127.0.0.1:0", "--db", db}, nil, false)
	if m := mintHint.FindStringSubmatch(s.stdout.String()); m == nil || !strings.HasPrefix(m[1], "scimd credential create --tenant NAME ") || !strings.Contains(s.stdout.String(), "2 tenants: scimd tenant list") {
		t.Fatalf("start with two tenants:\n%s", s.stdout)
	}
	s.stop(t)
}

// TestServeBaseURLForms: serve's --base-url (or SCIMD_BASE_URL) with or without /scim/v2
// and trailing slashes prints one connector URL, and the server's Location and
// meta.location, over HTTP, agree with it.
func TestServeBaseURLForms(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"https://scim.example.com", "https://scim.example.com/scim/v2"},
		{"https://scim.example.com/", "https://scim.example.com/scim/v2"},
		{"https://scim.example.com/scim/v2", "https://scim.example.com/scim/v2"},
		{"https://scim.example.com/scim/v2/", "https://scim.example.com/scim/v2"},
		{"https://example.com/identity/", "https://example.com/identity/scim/v2"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			db := tempDB(t)
			// scimd with no command serves; flags come from the environment.
			s := startServe(t, nil, map[string]string{"SCIMD_DB": db, "SCIMD_ADDR": "127.0.0.1:0", "SCIMD_BASE_URL": tc.base}, true)
			printed := printedSecrets(t, s.stdout.String())
			if printed["SCIM connector base URL"] != tc.want {
				t.Errorf("printed base URL %q, want %q", printed["SCIM connector base URL"], tc.want)
			}
			c := scimclient.New("http://"+s.addr+"/scim/v2", printed["Bearer token"])
			resp, err := c.Do(context.Background(), "POST", "/Users", map[string]any{"userName": "alice"})
			if err != nil {
				t.Fatal(err)
			}
			u, err := resp.JSON()
			if err != nil || resp.Status != http.StatusCreated {
				t.Fatalf("POST /Users: %d %v %s", resp.Status, err, resp.Body)
			}
			loc := tc.want + "/Users/" + fmt.Sprint(u["id"])
			if got := resp.Header.Get("Location"); got != loc {
				t.Errorf("Location %q, want %q", got, loc)
			}
			if meta, _ := u["meta"].(map[string]any); meta["location"] != loc {
				t.Errorf("meta.location %v, want %q", meta["location"], loc)
			}
			s.stop(t)
			// The second start's connector URL and hint agree too.
			s = startServe(t, []string{"--db", db, "--addr", "127.0.0.1:0", "--base-url", tc.base}, nil, false)
			if !strings.Contains(s.stdout.String(), "SCIM connector base URL: "+tc.want+"\n") {
				t.Errorf("second start:\n%s", s.stdout)
			}
			m := mintHint.FindStringSubmatch(s.stdout.String())
			if m == nil || !strings.HasSuffix(m[1], " --base-url "+strings.TrimSuffix(tc.want, "/scim/v2")) {
				t.Errorf("second start's hint %q does not carry the base URL %s", m, tc.want)
			}
		})
	}
}

// TestServeFirstCredentialOffTerminal: when stdout is not a terminal (systemd, Docker,
// Kubernetes: it is a log), the first start writes the credential to a file only its
// owner can read, next to the database, and prints the file's path, never the secret.
func TestServeFirstCredentialOffTerminal(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "scimd.db")
	file := filepath.Join(dir, "scimd-first-credential.txt")
	// A file left by an earlier database, readable by all, is replaced, not reused.
	if err := os.WriteFile(file, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, []string{"--addr", "127.0.0.1:0", "--db", db}, nil, false)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("first start off a terminal: %v\nstdout:\n%s", err, s.stdout)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want -rw-------", file, fi.Mode().Perm())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	printed := printedSecrets(t, string(data))
	password := printed["Basic auth password"]
	for name, out := range map[string]string{"stdout": s.stdout.String(), "stderr": s.stderr.String()} {
		if strings.Contains(out, password) || strings.Contains(out, printed["Bearer token"]) {
			t.Fatalf("the secret is on %s:\n%s", name, out)
		}
	}
	if !strings.Contains(s.stdout.String(), file) {
		t.Fatalf("stdout does not name %s:\n%s", file, s.stdout)
	}
	if !strings.Contains(s.stdout.String(), "SCIM connector base URL:  http://"+s.addr+"/scim/v2\n") {
		t.Fatalf("stdout does not give the connector URL:\n%s", s.stdout)
	}
	if printed["SCIM connector base URL"] != "http://"+s.addr+"/scim/v2" {
		t.Fatalf("file's base URL %q", printed["SCIM connector base URL"])
	}
	// The file's credential works.
	call(t, scimclient.New(printed["SCIM connector base URL"], printed["Bearer token"]), "GET", "/Users", nil, http.StatusOK)
	// Nothing else is left in the directory (no temporary file).
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if n := e.Name(); n != "scimd-first-credential.txt" && !strings.HasPrefix(n, "scimd.db") {
			t.Errorf("left in the database's directory: %s", n)
		}
	}
	s.stop(t)

	// A later start leaves the file alone: it does not know the secret any more.
	os.Remove(file)
	s = startServe(t, []string{"--addr", "127.0.0.1:0", "--db", db}, nil, false)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a second start wrote %s (%v)", file, err)
	}
	if mintHint.FindStringSubmatch(s.stdout.String()) == nil {
		t.Fatalf("second start off a terminal gives no hint:\n%s", s.stdout)
	}
}

// A first start that cannot listen creates nothing and prints no credential: the next,
// successful start prints it.
func TestServeCannotListen(t *testing.T) {
	db := tempDB(t)
	fails(t, runMain(t, db, nil, "serve", "--addr", "127.0.0.1:99999"), "listen", "serve on an invalid port")
	var tenants []tenantRow
	okJSON(t, db, &tenants, "tenant", "list", "--json")
	if len(tenants) != 0 {
		t.Fatalf("a start that failed to listen created %+v", tenants)
	}
	s := startServe(t, []string{"--addr", "127.0.0.1:0", "--db", db}, nil, true)
	printed := printedSecrets(t, s.stdout.String())
	call(t, scimclient.New("http://"+s.addr+"/scim/v2", printed["Bearer token"]), "GET", "/Groups", nil, http.StatusOK)
}

// TestIsTerminal: what the real main tells serve about its stdout. A file, a pipe and the
// null device are not terminals; a terminal, where the test has one, is.
func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for name, f := range map[string]*os.File{"regular file": f, "pipe": w, "null device": null} {
		if IsTerminal(f) {
			t.Errorf("IsTerminal(%s) = true", name)
		}
	}
	if runtime.GOOS != "windows" {
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer tty.Close()
			if !IsTerminal(tty) {
				t.Errorf("IsTerminal(/dev/tty) = false")
			}
		}
	}
}

// TestCommandGroupUsage: a command group alone, or asked for help, lists its subcommands
// on stdout and succeeds.
func TestCommandGroupUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"tenant"}, []string{"scimd tenant create NAME", "scimd tenant list"}},
		{[]string{"tenant", "--help"}, []string{"scimd tenant create NAME", "scimd tenant list"}},
		{[]string{"tenant", "help"}, []string{"scimd tenant create NAME", "scimd tenant list"}},
		{[]string{"help", "tenant"}, []string{"scimd tenant create NAME", "scimd tenant list"}},
		{[]string{"credential"}, []string{"scimd credential create --tenant NAME [--base-url URL]", "scimd credential list [--tenant NAME]", "scimd credential revoke ID"}},
		{[]string{"credential", "-h"}, []string{"scimd credential create", "scimd credential list", "scimd credential revoke"}},
		{[]string{"user"}, []string{"scimd user list --tenant NAME [--role ROLE]"}},
		{[]string{"group"}, []string{"scimd group list --tenant NAME"}},
	} {
		out := ok(t, "", tc.args...)
		for _, w := range append(tc.want, "usage:", "--db and --json") {
			if !strings.Contains(out, w) {
				t.Errorf("scimd %s: output lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
}

// TestVersion: version, --version and -version print one line with the module version,
// the Go version and the platform; --json the same as an object.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		out := ok(t, "", args...)
		if !strings.HasPrefix(out, "scimd ") || strings.Count(out, "\n") != 1 || !strings.Contains(out, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("scimd %s: %q", args[0], out)
		}
	}
	var v buildVersion
	okJSON(t, "", &v, "version", "--json")
	if v.Version == "" || v.Go != runtime.Version() || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("scimd version --json: %+v", v)
	}
}

// TestVersionOf: how build information reads, as go build stamps it in a checkout, as a
// release tag, and as go run or a test leaves it.
func TestVersionOf(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
			Settings: settings("vcs", "git", "vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.time", "2026-11-01T10:00:00Z", "vcs.modified", "false")},
			true, "scimd v1.2.0 (revision 0123456789abcdef0123456789abcdef01234567, 2026-11-01T10:00:00Z) go1.26.8 " + platform},
		{"checkout with changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261101100000-0123456789ab+dirty"},
			Settings: settings("vcs.revision", "0123456789ab", "vcs.time", "2026-11-01T10:00:00Z", "vcs.modified", "true")},
			true, "scimd v0.0.0-20261101100000-0123456789ab+dirty (revision 0123456789ab, 2026-11-01T10:00:00Z, with uncommitted changes) go1.26.8 " + platform},
		{"go run", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true, "scimd (devel) go1.26.8 " + platform},
		{"no build information", nil, false, "scimd (devel) " + runtime.Version() + " " + platform},
	} {
		if got := versionOf(tc.info, tc.ok).String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	// A version set at link time names a build that has none of its own, and only such.
	defer func(v string) { linkedVersion = v }(linkedVersion)
	linkedVersion = "v1.3.0"
	for _, tc := range []struct {
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, "v1.3.0"},
		{&debug.BuildInfo{}, true, "v1.3.0"},
		{nil, false, "v1.3.0"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}, true, "v1.2.0"},
	} {
		if got := versionOf(tc.info, tc.ok).Version; got != tc.want {
			t.Errorf("linked v1.3.0, module %+v: %q, want %q", tc.info, got, tc.want)
		}
	}
}

// staleTenants is a store whose tenant list was read before another instance created
// tenant "default": what an instance sees when several start together on one database.
type staleTenants struct{ store.Store }

func (staleTenants) Tenants(context.Context) ([]store.Tenant, error) { return nil, nil }

// TestBootstrapLosesTheRace: an instance that finds tenant "default" made by another
// between its check and its create starts normally, makes no credential and writes no
// file (the other instance hands its credential over), and says how to make one.
func TestBootstrapLosesTheRace(t *testing.T) {
	db := tempDB(t)
	st := openTestStore(t, db)
	defer st.Close()
	if _, err := st.CreateTenant(context.Background(), store.Tenant{Name: "default"}); err != nil {
		t.Fatal(err)
	}
	for _, terminal := range []bool{true, false} {
		var out syncBuffer
		env := Env{Stdout: &out, Stderr: &out, Getenv: envOf(nil), IsTerminal: func() bool { return terminal }}
		if err := bootstrap(context.Background(), staleTenants{st}, db, "http://localhost:8080", env); err != nil {
			t.Fatalf("terminal %t: %v", terminal, err)
		}
		if m := mintHint.FindStringSubmatch(out.String()); m == nil || m[1] != "scimd credential create --tenant default --db "+db {
			t.Fatalf("terminal %t: %q", terminal, out.String())
		}
		creds, err := st.Credentials(context.Background(), "")
		if err != nil || len(creds) != 0 {
			t.Fatalf("terminal %t: credentials %v, %v", terminal, creds, err)
		}
		entries, _ := os.ReadDir(filepath.Dir(db))
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "scimd.db") {
				t.Fatalf("terminal %t: left %s", terminal, e.Name())
			}
		}
	}
}
