package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for bulk seeding
	_ "modernc.org/sqlite"             // database/sql driver "sqlite", for bulk seeding

	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/store/postgres"
	"github.com/scimd/scimd/internal/store/sqlite"
	"github.com/scimd/scimd/internal/storetest"
	"github.com/scimd/scimd/sdk"
)

// seedBase is the creation time of seeded user 0, in Unix nanoseconds; user i is created
// i milliseconds later. Users with i % 1000 == 1 were changed recentChange later.
const (
	seedBase     = int64(1_700_000_000_000_000_000)
	recentChange = int64(1_000_000_000_000_000)
)

// seedSQL writes n users into tenant big (and n/9 into tenant other, interleaved, so that
// the tenant's rows are not contiguous), their e-mails, 2,000 groups of about n/2,000
// members each, group "Big" holding every tenth user and group "Small" holding five.
// Rows go in directly, in bulk: the benchmark is about reads, not the write path. Users
// with i % 50 == 1 are inactive.
func seedSQL(sqlite bool) []string {
	series, uuid, doc := "generate_series(1, $3::int) AS s(i)", "md5(i::text)::uuid::text", `jsonb_build_object(
		'userName', 'user' || i || '@example.com', 'externalId', '00u' || i, 'displayName', 'User ' || i,
		'name', jsonb_build_object('givenName', 'G' || i, 'familyName', 'F' || i),
		'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@example.com', 'type', 'work', 'primary', true)),
		'active', i % 50 <> 1)`
	groupSeries, groupDoc := "generate_series(1, 2000) AS s(i)", "jsonb_build_object('displayName', 'Group ' || i)"
	p := func(n int) string { return "$" + strconv.Itoa(n) }
	if sqlite {
		series = "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?3) SELECT i FROM s)"
		uuid = "printf('%08x-0000-4000-8000-%012x', i, i)"
		doc = `json_object('userName', 'user' || i || '@example.com', 'externalId', '00u' || i, 'displayName', 'User ' || i,
			'name', json_object('givenName', 'G' || i, 'familyName', 'F' || i),
			'emails', json_array(json_object('value', 'user' || i || '@example.com', 'type', 'work', 'primary', json('true'))),
			'active', json(CASE WHEN i % 50 <> 1 THEN 'true' ELSE 'false' END))`
		groupSeries = "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 2000) SELECT i FROM s)"
		groupDoc = "json_object('displayName', 'Group ' || i)"
		p = func(n int) string { return "?" + strconv.Itoa(n) }
	}
	return []string{
		`INSERT INTO users (tenant_id, id, user_name, user_name_fold, external_id, active, created, modified, version, doc)
		 SELECT CASE WHEN i % 10 = 0 THEN ` + p(2) + ` ELSE ` + p(1) + ` END, ` + uuid + `, 'user' || i || '@example.com', 'user' || i || '@example.com',
		        '00u' || i, i % 50 <> 1, CAST(` + p(4) + ` AS BIGINT) + CAST(i AS BIGINT) * 1000000,
		        CAST(` + p(4) + ` AS BIGINT) + CAST(i AS BIGINT) * 1000000 + CASE WHEN i % 1000 = 1 THEN CAST(` + p(5) + ` AS BIGINT) ELSE 0 END, 1, ` + doc + `
		 FROM ` + series,
		`INSERT INTO user_emails (tenant_id, value_fold, user_seq) SELECT tenant_id, user_name_fold, seq FROM users`,
		`INSERT INTO groups (tenant_id, id, display_name, display_name_fold, external_id, created, modified, version, doc)
		 SELECT ` + p(1) + `, 'g-' || i, 'Group ' || i, 'group ' || i, 'eg' || i, i, i, 1, ` + groupDoc + ` FROM ` + groupSeries,
		`INSERT INTO groups (tenant_id, id, display_name, display_name_fold, created, modified, version, doc)
		 VALUES (` + p(1) + `, 'g-big', 'Big', 'big', 1, 1, 1, '{"displayName":"Big"}'), (` + p(1) + `, 'g-small', 'Small', 'small', 1, 1, 1, '{"displayName":"Small"}')`,
		`INSERT INTO group_members (tenant_id, group_seq, user_seq)
		 SELECT u.tenant_id, g.seq, u.seq FROM users u JOIN groups g ON g.tenant_id = u.tenant_id AND g.id = 'g-' || (1 + u.seq % 2000)
		 WHERE u.tenant_id = ` + p(1),
		`INSERT INTO group_members (tenant_id, group_seq, user_seq)
		 SELECT u.tenant_id, g.seq, u.seq FROM users u JOIN groups g ON g.tenant_id = u.tenant_id AND g.id = 'g-big'
		 WHERE u.tenant_id = ` + p(1) + ` AND u.seq % 10 = 3`,
		`INSERT INTO group_members (tenant_id, group_seq, user_seq)
		 SELECT u.tenant_id, g.seq, u.seq FROM users u JOIN groups g ON g.tenant_id = u.tenant_id AND g.id = 'g-small'
		 WHERE u.tenant_id = ` + p(1) + ` AND u.seq IN (7, 70007, 300007, 600007, 900007)`,
		// Without a role configuration an active user holds its groups' names, by name.
		`INSERT INTO user_roles (tenant_id, user_seq, role, role_fold, rank)
		 SELECT m.tenant_id, m.user_seq, g.display_name, g.display_name_fold, row_number() OVER (PARTITION BY m.user_seq ORDER BY g.display_name_fold, g.seq)
		 FROM group_members m JOIN groups g ON g.seq = m.group_seq JOIN users u ON u.seq = m.user_seq WHERE u.active`,
		`ANALYZE`,
	}
}

// BenchmarkDirectoryPage asks for directory pages of 50 users, each with one filter (and
// the next page after it), over HTTP through the SDK, from a tenant of
// SCIMD_BENCH_DIRECTORY_USERS users (default 1,000,000), and reports each filter's p50 and
// p99 latency in milliseconds.
//
//	go test ./internal/api -run '^$' -bench DirectoryPage -benchtime 2000x -timeout 60m
func BenchmarkDirectoryPage(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("SCIMD_BENCH_DIRECTORY_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			st, big := seedDirectory(b, backend, n)
			full := storetest.StartFull(b, st, server.Options{})
			c := sdk.New(full.Root, full.APIKey(b, "", "admin"))
			f := false
			recent := time.Unix(0, seedBase+recentChange)
			filters := []struct {
				name string
				opts sdk.UserListOptions
			}{
				{"none", sdk.UserListOptions{}},
				{"email", sdk.UserListOptions{Email: "user500001@example.com"}},
				{"user_name", sdk.UserListOptions{UserName: "USER123456@example.com"}},
				{"external_id", sdk.UserListOptions{ExternalID: "00u777777"}},
				{"role", sdk.UserListOptions{Role: "Group 17"}},
				{"role_big", sdk.UserListOptions{Role: "Big"}},
				{"role_small", sdk.UserListOptions{Role: "Small"}},
				{"group", sdk.UserListOptions{Group: "g-1234"}},
				{"active", sdk.UserListOptions{Active: &f}},
				{"updated_since", sdk.UserListOptions{UpdatedSince: recent}},
			}
			lat := make([][]time.Duration, len(filters))
			i := 0
			b.ResetTimer()
			for b.Loop() {
				k := i % len(filters)
				i++
				opts := filters[k].opts
				opts.Limit = 50
				t0 := time.Now()
				p, err := c.ListUsers(ctx, big.ID, opts)
				lat[k] = append(lat[k], time.Since(t0))
				if err != nil {
					b.Fatalf("%s: %v", filters[k].name, err)
				}
				if len(p.Data) == 0 && filters[k].name != "email" && filters[k].name != "user_name" && filters[k].name != "external_id" {
					b.Fatalf("%s: an empty page", filters[k].name)
				}
				if p.Next != nil {
					opts.Cursor = *p.Next
					t0 = time.Now()
					if _, err := c.ListUsers(ctx, big.ID, opts); err != nil {
						b.Fatalf("%s, next page: %v", filters[k].name, err)
					}
					lat[k] = append(lat[k], time.Since(t0))
				}
			}
			b.StopTimer()
			for k, f := range filters {
				if len(lat[k]) == 0 {
					continue
				}
				slices.Sort(lat[k])
				ms := func(q float64) float64 {
					return float64(lat[k][int(q*float64(len(lat[k])-1))].Microseconds()) / 1000
				}
				b.ReportMetric(ms(0.50), "p50-ms/"+f.name)
				b.ReportMetric(ms(0.99), "p99-ms/"+f.name)
				// Printed rather than logged: a benchmark's log is cut after a few lines.
				fmt.Fprintf(os.Stderr, "%s %-14s pages %5d  p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms\n", b.Name(), f.name, len(lat[k]), ms(0.5), ms(0.99), ms(1))
			}
		})
	}
}

// seedDirectory opens a store of the backend and seeds it with seedSQL: n users in
// tenant big, which it returns with the store (closed when b ends).
func seedDirectory(b *testing.B, backend string, n int) (store.Store, store.Tenant) {
	ctx := context.Background()
	var st store.Store
	var seed *sql.DB
	var err error
	if backend == "sqlite" {
		path := filepath.Join(b.TempDir(), "scimd.db")
		if st, err = sqlite.Open(ctx, path); err != nil {
			b.Fatal(err)
		}
		seed, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	} else {
		dsn := storetest.NewPostgresSchema(b)
		if st, err = postgres.Open(ctx, dsn); err != nil {
			b.Fatal(err)
		}
		seed, err = sql.Open("pgx", dsn)
	}
	if err != nil {
		b.Fatal(err)
	}
	// Cleanups run last to first: the store closes after a server started later stops.
	b.Cleanup(func() { st.Close() })
	defer seed.Close()
	big, err := st.CreateTenant(ctx, store.Tenant{Name: "big"})
	if err != nil {
		b.Fatal(err)
	}
	other, err := st.CreateTenant(ctx, store.Tenant{Name: "other"})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	args := []any{big.ID, other.ID, n + n/9, seedBase, recentChange}
	for i, q := range seedSQL(backend == "sqlite") {
		// Each statement takes the leading arguments it names ($1…, or ?1… in SQLite).
		used := 0
		for k := range args {
			if strings.Contains(q, "$"+strconv.Itoa(k+1)) || strings.Contains(q, "?"+strconv.Itoa(k+1)) {
				used = k + 1
			}
		}
		if _, err := seed.ExecContext(ctx, q, args[:used]...); err != nil {
			b.Fatalf("seed step %d: %v", i, err)
		}
	}
	b.Logf("seeded %d users in %s", n+n/9, time.Since(start).Round(time.Second))
	return st, big
}

// BenchmarkRoleRemap measures a role configuration change in a tenant of
// SCIMD_BENCH_DIRECTORY_USERS users (default 1,000,000): the first configuration, which
// derives every user's roles again, then remapping group "Big" (every tenth user) from
// one role to another, which derives its members' roles only. Each runs in one
// transaction with its user.roles_changed events.
//
//	go test ./internal/api -run '^$' -bench RoleRemap -benchtime 1x -timeout 60m
func BenchmarkRoleRemap(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("SCIMD_BENCH_DIRECTORY_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			st, big := seedDirectory(b, backend, n)
			validate := func(c roles.Config, inherited []roles.Role) error { return c.Validate(inherited) }
			cfg := roles.Config{Mode: roles.ModeMulti, Roles: []roles.Role{{Name: "admin"}, {Name: "analyst"}, {Name: "viewer"}},
				Rules: []roles.Rule{{Group: "Big", Role: "admin"}, {GroupPattern: "Group 1*", Role: "viewer"}}}
			for b.Loop() {
				t0 := time.Now()
				first, err := st.SetRoleConfig(ctx, big.ID, &cfg, validate)
				if err != nil {
					b.Fatal(err)
				}
				full := time.Since(t0)
				remap := cfg
				remap.Rules = []roles.Rule{{Group: "Big", Role: "analyst"}, cfg.Rules[1]}
				t0 = time.Now()
				second, err := st.SetRoleConfig(ctx, big.ID, &remap, validate)
				if err != nil {
					b.Fatal(err)
				}
				re := time.Since(t0)
				if second.Users == 0 || second.Changed != second.Users {
					b.Fatalf("remap derived %d users, changed %d", second.Users, second.Changed)
				}
				b.ReportMetric(full.Seconds(), "s-first-config")
				b.ReportMetric(re.Seconds(), "s-remap")
				fmt.Fprintf(os.Stderr, "%s first configuration: %d users derived, %d changed in %s; remap of Big: %d users derived, %d changed in %s\n",
					b.Name(), first.Users, first.Changed, full.Round(time.Millisecond), second.Users, second.Changed, re.Round(time.Millisecond))
				// Back to no configuration for the next round.
				if _, err := st.SetRoleConfig(ctx, big.ID, nil, validate); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
