package httpapi_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

// Group (role) benchmarks, over HTTP on each store. Run with:
//
//	go test ./internal/httpapi -run '^$' -bench 'Member|ListGroups' -benchtime 2000x
//
// (with SCIMD_TEST_POSTGRES set, PostgreSQL is measured beside SQLite).

// BenchmarkMemberAddRemove alternates a single-member add and remove PATCH on a group of
// 10 and of 100,000 members, and reports the median latency.
func BenchmarkMemberAddRemove(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			srv, tn, c := benchServerOn(b, be)
			ids := seedUsers(b, srv.Store, tn.ID, 100_001)
			extra := ids[len(ids)-1]
			for _, size := range []int{10, 100_000} {
				g, err := srv.Store.CreateGroup(context.Background(), tn.ID, scim.Resource{"displayName": fmt.Sprintf("G%d", size)}, ids[:size])
				if err != nil {
					b.Fatal(err)
				}
				b.Run(fmt.Sprintf("members=%d", size), func(b *testing.B) {
					lat := make([]time.Duration, 0, b.N)
					for i := 0; i < b.N; i++ {
						body := patchBody(patchOp("add", "members", []any{map[string]any{"value": extra}}))
						if i%2 == 1 {
							body = patchBody(patchOp("remove", fmt.Sprintf("members[value eq %q]", extra)))
						}
						start := time.Now()
						resp, err := c.Do(context.Background(), "PATCH", "/Groups/"+g.ID, body)
						lat = append(lat, time.Since(start))
						expect(b, resp, err, 204)
					}
					reportMedian(b, lat)
				})
			}
			// A full GET of the 100,000-member group: its members are streamed from one
			// query into the response.
			b.Run("get-members=100000", func(b *testing.B) {
				page, err := srv.Store.ListGroups(context.Background(), tn.ID, store.ListQuery{StartIndex: 1, Count: 10})
				if err != nil {
					b.Fatal(err)
				}
				var big string
				for _, g := range page.Items {
					if g.Data.String("displayName") == "G100000" {
						big = g.ID
					}
				}
				want := 0
				if err := srv.Store.GroupMembers(context.Background(), tn.ID, big, func(store.Member) error { want++; return nil }); err != nil {
					b.Fatal(err)
				}
				if want < 100_000 {
					b.Fatalf("group has %d members", want)
				}
				for i := 0; i < b.N; i++ {
					resp, err := c.Do(context.Background(), "GET", "/Groups/"+big, nil)
					expect(b, resp, err, 200)
					body, err := resp.JSON()
					if err != nil {
						b.Fatal(err)
					}
					if n := len(body["members"].([]any)); n != want {
						b.Fatalf("%d members, want %d", n, want)
					}
					b.ReportMetric(float64(len(resp.Body))/(1<<20), "response-MB")
				}
			})
		})
	}
}

func reportMedian(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkAddMembersInBatches adds 100,000 users to one group in PATCHes of 100 members.
func BenchmarkAddMembersInBatches(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			srv, tn, c := benchServerOn(b, be)
			ids := seedUsers(b, srv.Store, tn.ID, 100_000)
			b.ResetTimer()
			var added int64
			for n := 0; n < b.N; n++ {
				g, err := srv.Store.CreateGroup(context.Background(), tn.ID, scim.Resource{"displayName": fmt.Sprintf("Batch%d", n)}, nil)
				if err != nil {
					b.Fatal(err)
				}
				for start := 0; start < len(ids); start += 100 {
					members := make([]any, 0, 100)
					for _, id := range ids[start:min(start+100, len(ids))] {
						members = append(members, map[string]any{"value": id})
					}
					resp, err := c.Do(context.Background(), "PATCH", "/Groups/"+g.ID, patchBody(patchOp("add", "members", members)))
					expect(b, resp, err, 204)
					added += int64(len(members))
				}
			}
			reportRate(b, added, "members/s")
		})
	}
}

// BenchmarkListGroups pages through 10,000 groups (10 members each) with
// excludedAttributes=members, beside paging through 10,000 users, 100 per page.
func BenchmarkListGroups(b *testing.B) {
	const n = 10_000
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			srv, tn, c := benchServerOn(b, be)
			ids := seedUsers(b, srv.Store, tn.ID, n)
			for i := 0; i < n; i++ {
				if _, err := srv.Store.CreateGroup(context.Background(), tn.ID, scim.Resource{"displayName": fmt.Sprintf("Role %d", i)}, ids[i/10*10:i/10*10+10]); err != nil {
					b.Fatal(err)
				}
			}
			for _, kind := range []string{"Groups?excludedAttributes=members&", "Users?"} {
				b.Run(kind[:5], func(b *testing.B) {
					pageAll(b, c, "/"+kind, n)
				})
			}
		})
	}
}

func pageAll(b *testing.B, c *scimclient.Client, prefix string, total int) {
	var seen int64
	for i := 0; i < b.N; i++ {
		for start := 1; start <= total; start += 100 {
			resp, err := c.Do(context.Background(), "GET", fmt.Sprintf("%sstartIndex=%d&count=100", prefix, start), nil)
			expect(b, resp, err, 200)
			seen += 100
		}
	}
	reportRate(b, seen, "resources/s")
}

// BenchmarkConcurrentMemberAdds: 8 clients PATCH one group of 5,000 members at once, each
// PATCH adding 100 members of its own, and reports members added per
// second.
//
//	go test ./internal/httpapi -run '^$' -bench ConcurrentMemberAdds -benchtime 1x
func BenchmarkConcurrentMemberAdds(b *testing.B) {
	const base, clients, perPatch, patches = 5000, 8, 100, 10
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			srv, tn, c := benchServerOn(b, be)
			ids := seedUsers(b, srv.Store, tn.ID, base+clients*perPatch*patches)
			b.ResetTimer()
			var added int64
			var elapsed time.Duration
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				g, err := srv.Store.CreateGroup(context.Background(), tn.ID, scim.Resource{"displayName": fmt.Sprintf("Concurrent%d", n)}, ids[:base])
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				done := make(chan struct{}, clients)
				for w := 0; w < clients; w++ {
					go func() {
						defer func() { done <- struct{}{} }()
						for p := 0; p < patches; p++ {
							first := base + (w*patches+p)*perPatch
							members := make([]any, 0, perPatch)
							for _, id := range ids[first : first+perPatch] {
								members = append(members, map[string]any{"value": id})
							}
							resp, err := c.Do(context.Background(), "PATCH", "/Groups/"+g.ID, patchBody(patchOp("add", "members", members)))
							if err != nil || resp.Status != 204 {
								b.Errorf("PATCH: %v %v", err, resp)
								return
							}
						}
					}()
				}
				for w := 0; w < clients; w++ {
					<-done
				}
				elapsed += time.Since(start)
				added += clients * perPatch * patches
			}
			b.ReportMetric(float64(added)/elapsed.Seconds(), "members/s")
		})
	}
}
