package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/sqlite"
)

// TestIndexedFiltersUseIndexes checks with EXPLAIN QUERY PLAN that the filters identity
// providers depend on are answered from an index: SQLite's plan never reads the whole
// users (or groups) table for them.
func TestIndexedFiltersUseIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plan.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if _, err := st.CreateUser(ctx, tn.ID, scim.Resource{"userName": fmt.Sprintf("u%d@example.com", i),
			"emails": []any{map[string]any{"value": fmt.Sprintf("u%d@example.com", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil && !strings.Contains(err.Error(), "readonly") {
		t.Fatal(err)
	}
	users, groups := scim.NewUserResourceType(), scim.NewGroupResourceType()
	cases := []struct {
		resource string
		rt       *scim.ResourceType
		filter   string
	}{
		{"Users", users, `userName eq "U42@example.com"`},
		{"Users", users, `externalId eq "00u42"`},
		{"Users", users, `id eq "0a1b2c3d-0000-4000-8000-000000000000"`},
		{"Users", users, `emails.value eq "u42@example.com"`},
		{"Users", users, `userName sw "u4"`},
		{"Users", users, `groups.value eq "0a1b2c3d-0000-4000-8000-000000000001"`},
		{"Users", users, `groups.display eq "Admins"`},
		{"Groups", groups, `displayName eq "Admins"`},
		{"Groups", groups, `members.value eq "0a1b2c3d-0000-4000-8000-000000000002"`},
	}
	for _, c := range cases {
		f, err := scim.ParseFilter(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		if err := scim.ResolveFilter(c.rt, f); err != nil {
			t.Fatal(err)
		}
		count, page, args, err := st.ListSQL(c.resource, tn.ID, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{{count, args}, {page, append(append([]any{}, args...), 100, 0)}} {
			rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.sql, q.args...)
			if err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			rows.Close()
			for _, step := range plan {
				// "SCAN users" (without USING INDEX) reads every row of the table.
				// "SCAN …" reads a whole table or index; a search by "(tenant_id=?)" alone
				// reads every row of the tenant.
				if strings.HasPrefix(step, "SCAN ") || strings.HasSuffix(step, "(tenant_id=?)") {
					t.Errorf("%s ?filter=%s scans a table:\n%s\n%s", c.resource, c.filter, q.sql, strings.Join(plan, "\n"))
				}
			}
		}
	}
}
