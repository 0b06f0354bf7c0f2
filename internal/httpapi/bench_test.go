package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

// Benchmarks run over a real HTTP listener on 127.0.0.1 and a real SQLite file, with
// concurrent clients. Run them with:
//
//	go test ./internal/httpapi -run '^$' -bench . -benchtime 5s
//
// Each reports ops/s (and users/s where it pages).

func benchServer(b *testing.B) (*storetest.Server, *storetest.Tenant, *scimclient.Client) {
	return benchServerOn(b, storetest.Backend{Name: "sqlite", Open: storetest.OpenSQLite})
}

func benchServerOn(b *testing.B, be storetest.Backend) (*storetest.Server, *storetest.Tenant, *scimclient.Client) {
	st := be.Open(b)
	srv := storetest.StartServer(b, st)
	tn := srv.NewTenant(b, "bench")
	c := *tn.Client
	c.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
	return srv, tn, &c
}

func seedUsers(b *testing.B, st store.Store, tenantID string, n int) []string {
	return storetest.SeedUsers(b, st, tenantID, n)
}

func expect(b *testing.B, resp *scimclient.Response, err error, status int) {
	if err != nil {
		b.Fatal(err)
	}
	if resp.Status != status {
		b.Fatalf("status %d, want %d: %s", resp.Status, status, resp.Body)
	}
}

func reportRate(b *testing.B, n int64, unit string) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), unit)
}

// BenchmarkCreateUser: POST /Users from concurrent clients; each 201 is acknowledged only
// after its transaction is committed with synchronous=FULL.
func BenchmarkCreateUser(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) { benchCreate(b, be) })
	}
}

func benchCreate(b *testing.B, be storetest.Backend) {
	_, _, c := benchServerOn(b, be)
	var seq atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			body := map[string]any{
				"schemas":  []string{scim.UserSchema},
				"userName": fmt.Sprintf("create%d@example.com", i),
				"name":     map[string]any{"givenName": "A", "familyName": "B"},
				"emails":   []any{map[string]any{"value": fmt.Sprintf("create%d@example.com", i), "type": "work", "primary": true}},
				"active":   true, "password": "placeholder",
			}
			resp, err := c.Do(context.Background(), "POST", "/Users", body)
			expect(b, resp, err, 201)
		}
	})
	reportRate(b, int64(b.N), "creates/s")
}

func benchLookup(b *testing.B, users int, path func(i int, ids []string) string) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) { benchLookupOn(b, be, users, path) })
	}
}

func benchLookupOn(b *testing.B, be storetest.Backend, users int, path func(i int, ids []string) string) {
	srv, tn, c := benchServerOn(b, be)
	ids := seedUsers(b, srv.Store, tn.ID, users)
	b.SetParallelism(8)
	var seq atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(seq.Add(1)) % users
			resp, err := c.Do(context.Background(), "GET", path(i, ids), nil)
			expect(b, resp, err, 200)
		}
	})
	reportRate(b, int64(b.N), "req/s")
}

// BenchmarkGetUser: GET /Users/{id} with 100,000 users stored.
func BenchmarkGetUser(b *testing.B) {
	benchLookup(b, 100_000, func(i int, ids []string) string { return "/Users/" + ids[i] })
}

// BenchmarkFilterUserName: GET /Users?filter=userName eq "…" with 100,000 users stored;
// compare with BenchmarkGetUser.
func BenchmarkFilterUserName(b *testing.B) {
	benchLookup(b, 100_000, func(i int, ids []string) string {
		return "/Users?filter=" + url.QueryEscape(fmt.Sprintf(`userName eq "USER%07d@example.com"`, i))
	})
}

// BenchmarkPageAllUsers: one iteration pages through 100,000 users with count=100 (what
// Okta's import sends) and with count=1000 by startIndex, and by RFC 9865 cursors with
// count=100 in creation order and sorted by userName. Each page is checked to hold the
// number of users asked for, and the walk to end exactly at the last user.
func BenchmarkPageAllUsers(b *testing.B) {
	const users = 100_000
	srv, tn, c := benchServer(b)
	seedUsers(b, srv.Store, tn.ID, users)
	for _, count := range []int{100, 1000} {
		b.Run(fmt.Sprintf("count=%d", count), func(b *testing.B) {
			var seen int64
			for n := 0; n < b.N; n++ {
				for start := 1; start <= users; start += count {
					resp, err := c.Do(context.Background(), "GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", start, count), nil)
					expect(b, resp, err, 200)
					seen += int64(count)
				}
			}
			reportRate(b, seen, "users/s")
		})
	}
	for _, order := range []string{"", "&sortBy=userName"} {
		b.Run("cursor"+order, func(b *testing.B) {
			var seen int64
			for n := 0; n < b.N; n++ {
				cursor, pages := "", 0
				for {
					resp, err := c.Do(context.Background(), "GET", "/Users?count=100"+order+"&cursor="+cursor, nil)
					expect(b, resp, err, 200)
					var page struct {
						NextCursor   string `json:"nextCursor"`
						ItemsPerPage int    `json:"itemsPerPage"`
					}
					if err := json.Unmarshal(resp.Body, &page); err != nil {
						b.Fatal(err)
					}
					pages++
					seen += int64(page.ItemsPerPage)
					if page.NextCursor == "" {
						break
					}
					if page.ItemsPerPage != 100 {
						b.Fatalf("page %d has %d users", pages, page.ItemsPerPage)
					}
					cursor = page.NextCursor
				}
				if pages != users/100 {
					b.Fatalf("%d pages, want %d", pages, users/100)
				}
			}
			reportRate(b, seen, "users/s")
		})
	}
}
