package postgres_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/storetest"
)

// TestIndexedFiltersAvoidSequentialScans stores SCIMD_TEST_EXPLAIN_USERS users (default
// 1,000,000) in one tenant, beside other tenants' rows, and checks with EXPLAIN that the
// filters identity providers depend on run from an index: no sequential scan of users,
// groups, e-mails or memberships.
func TestIndexedFiltersAvoidSequentialScans(t *testing.T) {
	dsn := storetest.NewPostgresSchema(t)
	n := 1_000_000
	if v := os.Getenv("SCIMD_TEST_EXPLAIN_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateTenant(ctx, store.Tenant{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	// Rows written directly, in bulk: this test is about the plans, not the write path.
	seed := []string{
		`INSERT INTO users (tenant_id, id, user_name, user_name_fold, external_id, active, created, modified, version, doc)
		 SELECT CASE WHEN i % 10 = 0 THEN $2 ELSE $1 END, md5(i::text)::uuid::text, 'user' || i || '@example.com', 'user' || i || '@example.com',
		        '00u' || i, i % 7 <> 0, i, i, 1,
		        jsonb_build_object('userName', 'user' || i || '@example.com', 'externalId', '00u' || i,
		          'name', jsonb_build_object('givenName', 'G' || i, 'familyName', 'F' || (i % 1000)),
		          'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@example.com', 'type', 'work', 'primary', true)))
		 FROM generate_series(1, $3::int) AS i`,
		`INSERT INTO user_emails (tenant_id, value_fold, user_seq) SELECT tenant_id, user_name_fold, seq FROM users`,
		`INSERT INTO groups (tenant_id, id, display_name, display_name_fold, external_id, created, modified, version, doc)
		 SELECT $1, md5('g' || i)::uuid::text, 'Group ' || i, 'group ' || i, 'eg' || i, i, i, 1, jsonb_build_object('displayName', 'Group ' || i)
		 FROM generate_series(1, 2000) AS i`,
		`INSERT INTO group_members (tenant_id, group_seq, user_seq)
		 SELECT u.tenant_id, g.seq, u.seq FROM users u JOIN groups g ON g.tenant_id = u.tenant_id AND g.seq = 1 + (u.seq % 2000)
		 WHERE u.tenant_id = $1`,
		`ANALYZE`,
	}
	for i, q := range seed {
		var args []any
		switch i {
		case 0:
			args = []any{tn.ID, other.ID, n + n/9}
		case 2, 3:
			args = []any{tn.ID}
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("seed step %d: %v", i, err)
		}
	}
	t.Logf("seeded %d users of tenant %q (and %d of another) in %s", n, tn.Name, n/9, time.Since(start).Round(time.Second))

	users, groups := scim.NewUserResourceType(), scim.NewGroupResourceType()
	cases := []struct {
		resource string
		rt       *scim.ResourceType
		filter   string
	}{
		{"Users", users, `userName eq "USER4242@example.com"`},
		{"Users", users, `externalId eq "00u4242"`},
		{"Users", users, `id eq "0a1b2c3d-0000-4000-8000-000000000000"`},
		{"Users", users, `emails.value eq "user4242@EXAMPLE.com"`},
		{"Users", users, `userName sw "user4242"`},
		{"Users", users, `groups.value eq "` + "0a1b2c3d-0000-4000-8000-000000000001" + `"`},
		{"Users", users, `groups.display eq "Group 17"`},
		{"Users", users, `userName eq "user1@example.com" or externalId eq "00u2"`},
		{"Groups", groups, `displayName eq "group 17"`},
		{"Groups", groups, `externalId eq "eg17"`},
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
			plan := explain(t, conn, q.sql, q.args)
			if strings.Contains(plan, "Seq Scan") {
				t.Errorf("%s ?filter=%s uses a sequential scan:\n%s\n%s", c.resource, c.filter, q.sql, plan)
			}
		}
	}
}

func explain(t *testing.T, conn *pgx.Conn, sql string, args []any) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "EXPLAIN "+sql, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", sql, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
