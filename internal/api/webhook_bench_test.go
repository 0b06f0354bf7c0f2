package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

// webhookBench is a scimd server with a tenant, and optionally one webhook endpoint on a
// loopback receiver that calls arrived for every delivery.
type webhookBench struct {
	idp *scimclient.Client
}

func startWebhookBench(b *testing.B, backend storetest.Backend, withWebhook bool, arrived func(body []byte)) *webhookBench {
	ctx := context.Background()
	st := backend.Open(b)
	full := storetest.StartFull(b, st, server.Options{UsageInterval: time.Hour, Webhooks: server.WebhookOptions{AllowPrivate: true},
		Logger: slog.New(slog.DiscardHandler)})
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	issued := credential.New(tn.ID, time.Now().UTC())
	if err := st.CreateCredential(ctx, issued.Credential); err != nil {
		b.Fatal(err)
	}
	if withWebhook {
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if arrived != nil {
				arrived(body)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		b.Cleanup(rcv.Close)
		if _, _, err := full.Handler.Service.AddWebhook(ctx, serviceWebhook(tn.ID, rcv.URL)); err != nil {
			b.Fatal(err)
		}
	}
	idp := scimclient.New(full.URL, issued.Bearer)
	idp.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return &webhookBench{idp: idp}
}

// BenchmarkWebhookWriteOverhead: SCIM user creates by 8 concurrent clients against two
// servers in one run, each on its own database: one without a webhook, one with a webhook
// endpoint delivering to a loopback receiver in this process. Rounds alternate
// (without-with, with-without, …) so that a change of the machine's load falls on both
// alike, and a round with the webhook lasts until the receiver has every event of the
// round: deliveries that fall behind count against the webhook.
//
//	go test ./internal/api -run '^$' -bench WebhookWriteOverhead -benchtime 20000x
func BenchmarkWebhookWriteOverhead(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			var delivered atomic.Int64
			without := startWebhookBench(b, backend, false, nil)
			with := startWebhookBench(b, backend, true, func([]byte) { delivered.Add(1) })
			type side struct {
				wb   *webhookBench
				took time.Duration
				cpu  time.Duration
				ops  int
			}
			sides := map[bool]*side{false: {wb: without}, true: {wb: with}}
			var name atomic.Int64
			run := func(webhook bool, n int) float64 {
				sd := sides[webhook]
				const clients = 8
				var next atomic.Int64
				var wg sync.WaitGroup
				start, cpu0 := time.Now(), storetest.ProcessCPU()
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(n) {
							resp, err := sd.wb.idp.Do(context.Background(), "POST", "/Users",
								map[string]any{"userName": fmt.Sprintf("u%d@bench.example", name.Add(1))})
							if err != nil || resp.Status != 201 {
								b.Errorf("create: %v %v", err, resp)
								return
							}
						}
					}()
				}
				wg.Wait()
				if webhook {
					// One user.created event per create.
					want := int64(sd.ops + n)
					deadline := time.Now().Add(time.Minute)
					for delivered.Load() < want {
						if time.Now().After(deadline) {
							b.Fatalf("delivered %d of %d events", delivered.Load(), want)
						}
						time.Sleep(200 * time.Microsecond)
					}
				}
				took := time.Since(start)
				sd.took += took
				sd.cpu += storetest.ProcessCPU() - cpu0
				sd.ops += n
				return float64(n) / took.Seconds()
			}
			ratios := storetest.AlternateRounds(b, 10, func(per int) float64 { return run(false, per) },
				func(per int) float64 { return run(true, per) })
			offRate := float64(sides[false].ops) / sides[false].took.Seconds()
			onRate := float64(sides[true].ops) / sides[true].took.Seconds()
			b.ReportMetric(offRate, "without_writes/s")
			b.ReportMetric(onRate, "with_writes/s")
			b.ReportMetric(onRate/offRate, "with/without")
			b.ReportMetric(storetest.Median(ratios), "median_with/without")
			b.ReportMetric(ratios[0], "min_with/without")
			if c := sides[false].cpu; c > 0 {
				// CPU time of this process per write (clients, servers, receiver and SQLite;
				// not PostgreSQL's): hardly moved by other work on the machine.
				b.ReportMetric((sides[true].cpu.Seconds()/float64(sides[true].ops))/(c.Seconds()/float64(sides[false].ops)), "cpu_with/without")
			}
		})
	}
}

// BenchmarkWebhookDelay: the time from a SCIM response to the webhook's arrival at a
// loopback receiver, one create at a time; reports p50 and p99.
//
//	go test ./internal/api -run '^$' -bench WebhookDelay -benchtime 500x
func BenchmarkWebhookDelay(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			var mu sync.Mutex
			arrivals := map[string]time.Time{}
			wb := startWebhookBench(b, backend, true, func(body []byte) {
				now := time.Now()
				mu.Lock()
				arrivals[string(body)] = now
				mu.Unlock()
			})
			delays := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				name := fmt.Sprintf("d%d@bench.example", i)
				resp, err := wb.idp.Do(context.Background(), "POST", "/Users", map[string]any{"userName": name})
				if err != nil || resp.Status != 201 {
					b.Fatalf("create: %v %v", err, resp)
				}
				answered := time.Now()
				deadline := answered.Add(10 * time.Second)
				for {
					mu.Lock()
					var at time.Time
					for body, t := range arrivals {
						if containsName(body, name) {
							at = t
							delete(arrivals, body)
							break
						}
					}
					mu.Unlock()
					if !at.IsZero() {
						// A delivery can arrive before the client has read the response.
						delays = append(delays, max(at.Sub(answered), 0))
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("event of %s never arrived", name)
					}
					time.Sleep(100 * time.Microsecond)
				}
			}
			b.StopTimer()
			slices.Sort(delays)
			b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func containsName(body, name string) bool {
	return len(body) > 0 && stringsContains(body, `"userName":"`+name+`"`)
}

func stringsContains(s, sub string) bool { return strings.Contains(s, sub) }

func serviceWebhook(tenantID, url string) service.WebhookInput {
	return service.WebhookInput{TenantID: tenantID, URL: url}
}
