package cli

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/storetest"
)

// moveServer is a scimd serving db with a fresh credential of tenant.
type moveServer struct {
	s    *serving
	c    *scimclient.Client
	base string
}

func serveTenant(t *testing.T, db, tenant string) *moveServer {
	t.Helper()
	var cred issuedCredential
	okJSON(t, db, &cred, "credential", "create", "--tenant", tenant, "--json")
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--rate-per-credential", "0", "--rate-per-tenant", "0"}, nil, true)
	base := "http://" + s.addr + "/scim/v2"
	return &moveServer{s: s, c: scimclient.New(base, cred.Bearer), base: base}
}

// fillTenant gives the tenant served by m users and groups with what an identity provider
// sends: enterprise attributes, inactive users, e-mails, memberships, later changes (so
// that versions and times differ from creation) and a deletion (so that the counters'
// history is not just creates).
func fillTenant(t *testing.T, m *moveServer) {
	t.Helper()
	var ids []string
	for i := range 12 {
		u := map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			"userName":   fmt.Sprintf("user%02d@acme.example", i),
			"externalId": fmt.Sprintf("ext-%d", i),
			"name":       map[string]any{"givenName": "Given", "familyName": fmt.Sprintf("Family %d", i)},
			"emails":     []any{map[string]any{"value": fmt.Sprintf("user%02d@acme.example", i), "type": "work", "primary": true}},
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": map[string]any{"department": "R&D", "employeeNumber": fmt.Sprint(1000 + i)},
		}
		if i%4 == 3 {
			u["active"] = false
		}
		if i == 5 {
			// Kept where the tenant's role configuration takes roles from the identity
			// provider, dropped elsewhere (as on any create).
			u["roles"] = []any{map[string]any{"value": "auditor"}}
		}
		ids = append(ids, call(t, m.c, "POST", "/Users", u, 201)["id"].(string))
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	admins := call(t, m.c, "POST", "/Groups", map[string]any{"displayName": "Admins", "externalId": "g-1",
		"members": []any{map[string]any{"value": ids[0]}, map[string]any{"value": ids[1]}, map[string]any{"value": ids[2]}}}, 201)["id"].(string)
	call(t, m.c, "POST", "/Groups", map[string]any{"displayName": "Everyone", "members": func() []any {
		var out []any
		for _, id := range ids {
			out = append(out, map[string]any{"value": id})
		}
		return out
	}()}, 201)
	call(t, m.c, "POST", "/Groups", map[string]any{"displayName": "Nobody"}, 201)
	call(t, m.c, "PATCH", "/Users/"+ids[4], map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "Four"}}}, 200)
	call(t, m.c, "PATCH", "/Groups/"+admins, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "remove", "path": fmt.Sprintf("members[value eq %q]", ids[1])}}}, 204)
	call(t, m.c, "DELETE", "/Users/"+ids[11], nil, 204)
}

// scimView is every resource of the tenant as SCIM GETs show them, one by one and in
// lists, with the server's own base URL taken out.
func scimView(t *testing.T, m *moveServer) map[string]string {
	t.Helper()
	view := map[string]string{}
	for _, typ := range []string{"Users", "Groups"} {
		list := call(t, m.c, "GET", "/"+typ+"?count=1000", nil, 200)
		resources, _ := list["Resources"].([]any)
		if fmt.Sprint(list["totalResults"]) != fmt.Sprint(len(resources)) {
			t.Fatalf("%s: totalResults %v, %d resources listed", typ, list["totalResults"], len(resources))
		}
		var order []string
		for _, r := range resources {
			id := r.(map[string]any)["id"].(string)
			order = append(order, id)
			resp, err := m.c.Do(context.Background(), "GET", "/"+typ+"/"+id, nil)
			if err != nil || resp.Status != 200 {
				t.Fatalf("GET %s/%s: %v %v", typ, id, err, resp)
			}
			// Compared as JSON values: PostgreSQL keeps documents as jsonb, whose key order and
			// spacing a GET shows as stored.
			obj, err := resp.JSON()
			if err != nil {
				t.Fatal(err)
			}
			canon, _ := json.Marshal(obj)
			view[typ+"/"+id] = strings.ReplaceAll(string(canon), m.base, "BASE")
			view[typ+"/"+id+" ETag"] = resp.Header.Get("ETag")
		}
		view[typ+" order"] = strings.Join(order, " ")
		// A filter on an indexed attribute finds imported users (their index rows came too).
		if typ == "Users" && len(order) > 0 {
			f := call(t, m.c, "GET", `/Users?filter=emails.value%20eq%20%22USER03@acme.example%22`, nil, 200)
			view["filter emails"] = fmt.Sprint(f["totalResults"])
		}
	}
	return view
}

// sameView reports the resources that differ between two scimViews.
func sameView(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("over SCIM, %s shows %s as\n%s\nthe source showed\n%s", what, k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("over SCIM, %s shows %d resources and lists, the source %d", what, len(got), len(want))
	}
	if t.Failed() {
		t.FailNow()
	}
}

// exportBody is an export without its "exported" time, which differs between runs.
func exportBody(t *testing.T, out string) string {
	t.Helper()
	re := regexp.MustCompile(`"exported":"[^"]*",`)
	if !re.MatchString(out) {
		t.Fatalf("export has no exported time:\n%.300s", out)
	}
	return re.ReplaceAllString(out, "")
}

func writeFile(t *testing.T, data string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestMoveTenantSQLitePostgresSQLite moves a tenant from SQLite to PostgreSQL and back:
// each export equals the first (ids, attributes, meta, memberships, tenant), and every
// resource reads the same over SCIM from each server, lists and filters included.
func TestMoveTenantSQLitePostgresSQLite(t *testing.T) {
	pg := storetest.NewPostgresSchema(t)
	src := tempDB(t)
	ok(t, src, "tenant", "create", "acme", "--external-ref", "crm-42")
	// The tenant's own role configuration moves with it: the users hold the same roles.
	ok(t, src, "role", "set", "--tenant", "acme", writeFile(t, `{"mode": "multi", "roles": [{"name": "admin"}, {"name": "member"}, {"name": "auditor"}],
		"rules": [{"group": "Admins", "role": "admin"}, {"group_pattern": "Every*", "role": "member"}], "inactive_role": "", "scim_roles": true}`))
	m := serveTenant(t, src, "acme")
	fillTenant(t, m)
	want := scimView(t, m)
	m.s.stop(t)
	if !strings.Contains(fmt.Sprint(want), `"roles":[{"value":"admin"},{"value":"member"}]`) || !strings.Contains(fmt.Sprint(want), `{"value":"auditor"}`) {
		t.Fatalf("the source's users do not show the roles their groups and the identity provider give:\n%v", want)
	}

	first := ok(t, src, "export", "--tenant", "acme")
	var doc struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
		Tenant  struct {
			ID, Name, ExternalRef string
		} `json:"tenant"`
		Users  []map[string]any `json:"users"`
		Groups []map[string]any `json:"groups"`
	}
	if err := json.Unmarshal([]byte(first), &doc); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, first)
	}
	if doc.Format != "scimd-tenant" || doc.Version != 1 || doc.Tenant.Name != "acme" || len(doc.Users) != 11 || len(doc.Groups) != 3 {
		t.Fatalf("export: %s", first)
	}
	if !strings.Contains(first, `"role_config":{"mode":"multi"`) {
		t.Fatalf("export has not the tenant's role configuration:\n%.600s", first)
	}
	if strings.Contains(first, "$ref") || strings.Contains(first, "location") || strings.Contains(first, "password") {
		t.Fatalf("export names the deployment or a secret:\n%s", first)
	}

	out := ok(t, pg, "import", writeFile(t, first))
	if !strings.Contains(out, "imported 11 users, 3 groups and 13 memberships as the new tenant acme") {
		t.Fatalf("import into PostgreSQL: %q", out)
	}
	second := ok(t, pg, "export", "--tenant", "acme")
	if exportBody(t, second) != exportBody(t, first) {
		t.Fatalf("SQLite → PostgreSQL changed the tenant:\n%s\n---\n%s", first, second)
	}
	pm := serveTenant(t, pg, "acme")
	sameView(t, "PostgreSQL", scimView(t, pm), want)
	pm.s.stop(t)

	// PostgreSQL → SQLite in one pipeline: the import reads standard input.
	back := tempDB(t)
	var piped, errOut syncBuffer
	if code := Main(context.Background(), []string{"import", "--db", back, "-"}, Env{Stdin: strings.NewReader(second), Stdout: &piped, Stderr: &errOut,
		Getenv: envOf(nil)}); code != 0 || !strings.Contains(piped.String(), "imported 11 users") {
		t.Fatalf("import -: exit %d, %s %s", code, piped.String(), errOut.String())
	}
	third := ok(t, back, "export", "--tenant", "acme")
	if exportBody(t, third) != exportBody(t, first) {
		t.Fatalf("PostgreSQL → SQLite changed the tenant:\n%s\n---\n%s", first, third)
	}
	bm := serveTenant(t, back, "acme")
	sameView(t, "the SQLite copy", scimView(t, bm), want)
	// The moved tenant takes SCIM writes as any other: versions go on from where they were.
	u := doc.Users[0]
	id := u["id"].(string)
	got := call(t, bm.c, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Moved"}}}, 200)
	before := u["meta"].(map[string]any)["version"].(string)
	after := got["meta"].(map[string]any)["version"].(string)
	if before == after {
		t.Fatalf("version after a PATCH of an imported user: %s, before %s", after, before)
	}
	call(t, bm.c, "POST", "/Users", map[string]any{"userName": "user00@acme.example"}, 409)
}

// TestImportRefusals: a file that is not an export, or not a valid one, and a target
// tenant that already has resources give one clear line and change nothing, on each store.
func TestImportRefusals(t *testing.T) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			db := tempDB(t)
			if b == "postgres" {
				db = storetest.NewPostgresSchema(t)
			}
			ok(t, db, "tenant", "create", "acme")
			m := serveTenant(t, db, "acme")
			fillTenant(t, m)
			m.s.stop(t)
			export := ok(t, db, "export", "--tenant", "acme")
			tenantsBefore := ok(t, db, "tenant", "list")

			fails(t, runMain(t, db, nil, "import", writeFile(t, export)), `tenant "acme" has 11 users and 3 groups`, "an import into a tenant with resources")
			fails(t, runMain(t, db, nil, "import", writeFile(t, "hello")), "not a valid tenant export", "a file that is not JSON")
			fails(t, runMain(t, db, nil, "import", filepath.Join(t.TempDir(), "missing.json")), "no such file", "a missing file")
			fails(t, runMain(t, db, nil, "import", writeFile(t, `{"format":"scimd-tenant","version":2,"tenant":{"name":"x"}}`)),
				"version 2 of the format", "a newer format")
			fails(t, runMain(t, db, nil, "import", writeFile(t, `{"users":[]}`)), `no "format"`, "JSON that is not an export")
			fails(t, runMain(t, db, nil, "export", "--tenant", "nobody"), `no tenant named "nobody"`, "an export of a missing tenant")

			// Each of these fails late, after users were written: the transaction leaves
			// nothing, not even the tenant.
			swap := func(old, new string) string {
				t.Helper()
				if !strings.Contains(export, old) {
					t.Fatalf("export has no %q", old)
				}
				return strings.Replace(export, old, new, 1)
			}
			var doc struct {
				Users []struct {
					ID string `json:"id"`
				} `json:"users"`
			}
			json.Unmarshal([]byte(export), &doc)
			for _, c := range []struct{ what, file, want string }{
				{"a truncated file", export[:len(export)-40], "not a valid tenant export"},
				{"data after the object", export + "{}", "data after"},
				{"a member that is not a user of the file", swap(`"value":"`+doc.Users[2].ID+`"`, `"value":"no-such-user"`), `member "no-such-user" is not a user`},
				{"a user twice", swap(`"id":"`+doc.Users[5].ID+`"`, `"id":"`+doc.Users[4].ID+`"`), "appears twice"},
				{"a userName twice", swap(`"userName":"user07@acme.example"`, `"userName":"USER06@acme.example"`), "same userName"},
				{"a wrong type", swap(`"userName":"user08@acme.example"`, `"userName":8`), "userName"},
				{"a missing meta", swap(`"meta":{"resourceType":"Group",`, `"mota":{"resourceType":"Group",`), `"meta" needs`},
				{"an undeclared extension", swap(`"displayName":"Nobody"`, `"displayName":"Nobody","urn:example:custom:1.0:Group":{"x":1}`), "--schemas"},
				{"an invalid role configuration", swap(`"users":[`, `"role_config":{"mode":"multi","roles":[{"name":"a"}],"rules":[{"group":"Admins","role":"b"}]},`+"\n"+`"users":[`), "role_config"},
				{"the header after the users", swap("],\n\"groups\":[", "],\n\"tenant\":{},\"groups\":["), `"tenant" after "users"`},
			} {
				fails(t, runMain(t, db, nil, "import", "--tenant", "copy", writeFile(t, c.file)), c.want, c.what)
				if got := ok(t, db, "tenant", "list"); got != tenantsBefore {
					t.Fatalf("%s: tenants after the failed import:\n%s\nbefore:\n%s", c.what, got, tenantsBefore)
				}
			}

			// Under another name the same file makes a copy beside the original, with the
			// same resource ids (ids are unique per tenant) and a tenant id of its own.
			out := ok(t, db, "import", "--tenant", "copy", "--json", writeFile(t, export))
			var res struct {
				Tenant      string `json:"tenant"`
				TenantID    string `json:"tenant_id"`
				Created     bool   `json:"created"`
				Users       int    `json:"users"`
				Groups      int    `json:"groups"`
				Memberships int    `json:"memberships"`
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("import --json: %v: %s", err, out)
			}
			if res.Tenant != "copy" || !res.Created || res.Users != 11 || res.Groups != 3 || strings.Contains(export, res.TenantID) {
				t.Fatalf("import --tenant copy: %s", out)
			}
			copied := ok(t, db, "export", "--tenant", "copy")
			norm := func(s string) string {
				s = exportBody(t, s)
				return regexp.MustCompile(`"tenant":\{[^}]*\}`).ReplaceAllString(s, "")
			}
			if norm(copied) != norm(export) {
				t.Fatalf("the copy's resources differ:\n%s\n---\n%s", export, copied)
			}
			// An empty tenant made beforehand (with its credential) is filled, and keeps its id.
			ok(t, db, "tenant", "create", "prepared")
			out = ok(t, db, "import", "--tenant", "prepared", writeFile(t, export))
			if !strings.Contains(out, "into the empty tenant prepared") {
				t.Fatalf("import into an empty tenant: %q", out)
			}
		})
	}
}

// sqliteIntact checks a SQLite file with PRAGMA integrity_check.
func sqliteIntact(t *testing.T, db string) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var res string
	if err := conn.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity check: %q %v", res, err)
	}
}

// TestImportSubprocess is not a test of its own: TestImportKilled runs this test binary
// again with SCIMD_IMPORT_ARGS set, as an import to kill.
func TestImportSubprocess(t *testing.T) {
	args := os.Getenv("SCIMD_IMPORT_ARGS")
	if args == "" {
		t.Skip("only runs as TestImportKilled's import process")
	}
	os.Exit(Main(context.Background(), strings.Split(args, "\n"), Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: func(string) string { return "" }}))
}

// bigExport is an export of n generated users and one group of all of them.
func bigExport(n int) string {
	var b strings.Builder
	b.WriteString(`{"format":"scimd-tenant","version":1,"tenant":{"id":"","name":"big","created":"2026-01-02T03:04:05Z","updated":"2026-01-02T03:04:05Z"},"users":[`)
	meta := `"meta":{"resourceType":"User","created":"2026-01-02T03:04:05.123456789Z","lastModified":"2026-02-02T03:04:05Z","version":"W/\"2\""}`
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n{\"id\":\"u-%d\",\"userName\":\"user%d@big.example\",\"emails\":[{\"value\":\"user%d@big.example\"}],\"name\":{\"givenName\":\"G\",\"familyName\":\"F%d\"},%s}", i, i, i, i, meta)
	}
	b.WriteString("\n],\"groups\":[\n{\"id\":\"g-all\",\"displayName\":\"All\",\"members\":[")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"value":"u-%d"}`, i)
	}
	b.WriteString(`],"meta":{"resourceType":"Group","created":"2026-01-02T03:04:05Z","lastModified":"2026-01-02T03:04:05Z","version":"W/\"1\""}}` + "\n]}\n")
	return b.String()
}

// TestImportKilled kills an import process while it writes (after it reported progress)
// and finds nothing of it: no tenant, no users, and on SQLite an intact file. The same file
// then imports whole.
func TestImportKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 30,000 users twice per store")
	}
	file := writeFile(t, bigExport(30000))
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			db := tempDB(t)
			if b == "postgres" {
				db = storetest.NewPostgresSchema(t)
			}
			ok(t, db, "tenant", "create", "other")
			cmd := exec.Command(os.Args[0], "-test.run", "^TestImportSubprocess$")
			cmd.Env = append(os.Environ(), "SCIMD_IMPORT_ARGS="+strings.Join([]string{"import", "--db", db, file}, "\n"))
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			progressed := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					if strings.Contains(sc.Text(), "users and") {
						select {
						case progressed <- sc.Text():
						default:
						}
					}
				}
			}()
			select {
			case line := <-progressed:
				t.Logf("killing the import after: %s", line)
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the import reported no progress")
			}
			cmd.Process.Kill()
			cmd.Wait()
			if strings.Contains(ok(t, db, "tenant", "list"), "big") {
				t.Fatal("a killed import left its tenant")
			}
			if b == "sqlite" {
				st := openTestStore(t, db)
				st.Close()
				sqliteIntact(t, db)
			}
			start := time.Now()
			r := runMain(t, db, nil, "import", file)
			if r.code != 0 || !strings.Contains(r.stdout, "imported 30000 users, 1 groups and 30000 memberships") || !strings.Contains(r.stderr, "30000 users and 0 groups read so far") {
				t.Fatalf("import after the killed one: %+v", r)
			}
			t.Logf("%s: 30,000 users and a group of all of them imported in %v", b, time.Since(start).Round(time.Millisecond))
			m := serveTenant(t, db, "big")
			list := call(t, m.c, "GET", "/Users?count=1&filter=userName%20eq%20%22user29999@big.example%22", nil, 200)
			if fmt.Sprint(list["totalResults"]) != "1" {
				t.Fatalf("imported user not found: %v", list)
			}
			all := call(t, m.c, "GET", "/Users?count=1", nil, 200)
			if fmt.Sprint(all["totalResults"]) != "30000" {
				t.Fatalf("totalResults %v after the import", all["totalResults"])
			}
			u := call(t, m.c, "GET", "/Users/u-17", nil, 200)
			meta := u["meta"].(map[string]any)
			if meta["created"] != "2026-01-02T03:04:05.123456789Z" || meta["version"] != `W/"2"` {
				t.Fatalf("imported meta: %v", meta)
			}
			resp, err := m.c.Do(context.Background(), "GET", "/Groups/g-all?attributes=displayName", nil)
			if err != nil || resp.Status != http.StatusOK {
				t.Fatalf("GET group: %v %v", err, resp)
			}
		})
	}
}

// TestBackupOfPostgres: backup and restore of a PostgreSQL URL say what to use instead and
// where it is documented, without connecting.
func TestBackupOfPostgres(t *testing.T) {
	pg := "postgres://scimd@127.0.0.1:1/scimd"
	fails(t, runMain(t, pg, nil, "backup", filepath.Join(t.TempDir(), "b.db")), `pg_dump (see "Backups" in docs/deploy.md`, "backup of PostgreSQL")
	fails(t, runMain(t, pg, nil, "restore", filepath.Join(t.TempDir(), "b.db")), `pg_restore (see "Backups" in docs/deploy.md`, "restore of PostgreSQL")
}

// TestExportWhileServing exports a tenant again and again while identity providers create
// and delete users and change a group's members: every export is one snapshot, so each
// imports (every member is a user of the file, no id twice) with as many users as the
// tenant had at some moment.
func TestExportWhileServing(t *testing.T) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			db := tempDB(t)
			if b == "postgres" {
				db = storetest.NewPostgresSchema(t)
			}
			ok(t, db, "tenant", "create", "busy")
			m := serveTenant(t, db, "busy")
			group := call(t, m.c, "POST", "/Groups", map[string]any{"displayName": "Everyone"}, 201)["id"].(string)
			stop := make(chan struct{})
			done := make(chan struct{})
			for w := range 3 {
				go func() {
					defer func() { done <- struct{}{} }()
					var mine []string
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						resp, err := m.c.Do(context.Background(), "POST", "/Users", map[string]any{"userName": fmt.Sprintf("w%d-%d@busy.example", w, i)})
						if err != nil || resp.Status != 201 {
							t.Errorf("create: %v %v", err, resp)
							return
						}
						u, _ := resp.JSON()
						id := u["id"].(string)
						mine = append(mine, id)
						patch := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
							"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": id}}}}}
						if resp, err := m.c.Do(context.Background(), "PATCH", "/Groups/"+group, patch); err != nil || resp.Status/100 != 2 {
							t.Errorf("add member: %v %v", err, resp)
							return
						}
						if i%3 == 2 {
							if resp, err := m.c.Do(context.Background(), "DELETE", "/Users/"+mine[0], nil); err != nil || resp.Status != 204 {
								t.Errorf("delete: %v %v", err, resp)
								return
							}
							mine = mine[1:]
						}
					}
				}()
			}
			exports := 0
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) || exports < 3; exports++ {
				out := ok(t, db, "export", "--tenant", "busy")
				var doc struct {
					Users  []any `json:"users"`
					Groups []struct {
						Members []any `json:"members"`
					} `json:"groups"`
				}
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatalf("export %d: %v", exports, err)
				}
				// Every user is in the group, from its creation to its deletion, but for the
				// moment between the two requests.
				if len(doc.Groups) != 1 || len(doc.Groups[0].Members) > len(doc.Users) || len(doc.Users)-len(doc.Groups[0].Members) > 3 {
					t.Fatalf("export %d: %d users, group of %d", exports, len(doc.Users), len(doc.Groups[0].Members))
				}
				target := tempDB(t)
				r := runMain(t, target, nil, "import", writeFile(t, out))
				if r.code != 0 {
					t.Fatalf("export %d does not import: %+v", exports, r)
				}
			}
			close(stop)
			for range 3 {
				<-done
			}
			t.Logf("%d exports while serving, each imported", exports)
		})
	}
}

// TestMoveTenantWithSchemaExtension: a tenant whose users carry a schema extension moves
// with the server's schema file (--schemas); without it the import refuses, naming the
// schema, rather than drop the attributes.
func TestMoveTenantWithSchemaExtension(t *testing.T) {
	schemas := writeFile(t, `{"extensions":[{"resourceType":"User","tenants":["acme"],"schema":{"id":"urn:example:hr:1.0:User","name":"HR",
		"attributes":[{"name":"costCenter","type":"string"},{"name":"level","type":"integer"}]}}]}`)
	src := tempDB(t)
	ok(t, src, "tenant", "create", "acme")
	var cred issuedCredential
	okJSON(t, src, &cred, "credential", "create", "--tenant", "acme", "--json")
	s := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", src, "--schemas", schemas}, nil, true)
	c := scimclient.New("http://"+s.addr+"/scim/v2", cred.Bearer)
	id := call(t, c, "POST", "/Users", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:example:hr:1.0:User"},
		"userName": "x@acme.example", "urn:example:hr:1.0:User": map[string]any{"costCenter": "CC-7", "level": 3}}, 201)["id"].(string)
	s.stop(t)
	export := writeFile(t, ok(t, src, "export", "--tenant", "acme"))

	dst := tempDB(t)
	fails(t, runMain(t, dst, nil, "import", export), `schema "urn:example:hr:1.0:User"`, "an import without the schema file")
	// The extension is declared for tenant acme only: under another name it is not the
	// tenant's, and the import refuses likewise.
	fails(t, runMain(t, dst, nil, "import", "--schemas", schemas, "--tenant", "other", export), "--schemas", "an import under a tenant without the extension")
	ok(t, dst, "import", "--schemas", schemas, export)
	var cred2 issuedCredential
	okJSON(t, dst, &cred2, "credential", "create", "--tenant", "acme", "--json")
	s2 := startServe(t, []string{"serve", "--addr", "127.0.0.1:0", "--db", dst, "--schemas", schemas}, nil, true)
	u := call(t, scimclient.New("http://"+s2.addr+"/scim/v2", cred2.Bearer), "GET", "/Users/"+id, nil, 200)
	ext, _ := u["urn:example:hr:1.0:User"].(map[string]any)
	if ext["costCenter"] != "CC-7" || fmt.Sprint(ext["level"]) != "3" {
		t.Fatalf("the moved user's extension: %v", u)
	}
}
