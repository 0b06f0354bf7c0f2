package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/storetest"
)

// BenchmarkActivityLogOverhead measures SCIM throughput with the activity log off and on,
// in one run: two servers on their own SQLite files (or PostgreSQL schemas), driven in
// alternating rounds so that drift of the machine falls on both alike. Each operation is
// an Okta-shaped create (with a password), a userName filter and a PATCH, from 16
// concurrent clients over loopback. It reports both rates, their ratio (on/off), the
// median of the rounds' ratios (median_on/off), and the ratio of this process's CPU time
// per operation (cpu_on/off: with SQLite, everything but the kernel's share of loopback).
//
//	go test ./internal/server -run '^$' -bench ActivityLogOverhead -benchtime 4000x
func BenchmarkActivityLogOverhead(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			type side struct {
				c    *scimclient.Client
				full *storetest.Full
				took time.Duration
				ops  int64
				cpu  time.Duration // the process's CPU time during its rounds
			}
			mk := func(off bool) *side {
				full := storetest.StartFull(b, be.Open(b), server.Options{NoActivity: off, UsageInterval: time.Hour,
					Logger: discardLogger()})
				tn := full.NewTenant(b, "bench")
				c := *tn.Client
				c.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
				return &side{c: &c, full: full}
			}
			off, on := mk(true), mk(false)
			var seq atomic.Int64
			run := func(s *side, n int) float64 {
				const clients = 16
				var next atomic.Int64
				var wg sync.WaitGroup
				start := time.Now()
				cpu0 := storetest.ProcessCPU()
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(n) {
							okta(b, s.c, seq.Add(1))
						}
					}()
				}
				wg.Wait()
				took := time.Since(start)
				// The log's work off the request path is the round's too: written before the
				// CPU time is read (but after the round is timed), so none of it falls in the
				// next round.
				if err := s.full.Handler.Activity.Flush(context.Background()); err != nil {
					b.Fatal(err)
				}
				s.cpu += storetest.ProcessCPU() - cpu0
				s.took += took
				s.ops += int64(n)
				return float64(n) / took.Seconds()
			}
			// Each pair of rounds gives a ratio: their median is what a load spike of one
			// round cannot move much.
			ratios := storetest.AlternateRounds(b, 20, func(per int) float64 { return run(off, per) },
				func(per int) float64 { return run(on, per) })
			if err := on.full.Handler.Activity.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
			offRate := float64(off.ops) / off.took.Seconds()
			onRate := float64(on.ops) / on.took.Seconds()
			b.ReportMetric(offRate, "off_ops/s")
			b.ReportMetric(onRate, "on_ops/s")
			b.ReportMetric(onRate/offRate, "on/off")
			b.ReportMetric(storetest.Median(ratios), "median_on/off")
			b.ReportMetric(float64(on.full.Handler.Activity.Stats().Dropped), "dropped")
			// CPU time per operation of this process (clients, servers and SQLite; not
			// PostgreSQL's): unlike a rate, hardly moved by other work on the machine.
			if off.cpu > 0 {
				b.ReportMetric((on.cpu.Seconds()/float64(on.ops))/(off.cpu.Seconds()/float64(off.ops)), "cpu_on/off")
			}
		})
	}
}

// okta is one operation of the benchmark: create, find by userName, deactivate.
func okta(b *testing.B, c *scimclient.Client, i int64) {
	ctx := context.Background()
	name := fmt.Sprintf("bench%d@example.com", i)
	resp, err := c.Do(ctx, "POST", "/Users", map[string]any{
		"schemas": []string{scim.UserSchema}, "userName": name, "active": true, "password": "Placeholder-1!",
		"name":   map[string]any{"givenName": "A", "familyName": "B"},
		"emails": []any{map[string]any{"value": name, "type": "work", "primary": true}},
	})
	if err != nil || resp.Status != 201 {
		b.Fatalf("create: %v %v", err, resp)
	}
	m, _ := resp.JSON()
	id, _ := m["id"].(string)
	if resp, err = c.Do(ctx, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+name+`"`), nil); err != nil || resp.Status != 200 {
		b.Fatalf("filter: %v %v", err, resp)
	}
	if resp, err = c.Do(ctx, "PATCH", "/Users/"+id, map[string]any{
		"schemas":    []string{scim.PatchOpSchema},
		"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}},
	}); err != nil || resp.Status != 200 {
		b.Fatalf("patch: %v %v", err, resp)
	}
}
